package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// passwordHasher hashes passwords with argon2id (OWASP's settings: 19 MiB,
// two passes) into PHC strings that carry their own parameters.
type passwordHasher struct {
	memory uint32 // KiB
	time   uint32
}

func newPasswordHasher(memoryKiB int) passwordHasher {
	if memoryKiB <= 0 {
		memoryKiB = 19 * 1024
	}
	return passwordHasher{memory: uint32(memoryKiB), time: 2}
}

// HashPassword hashes a password as sign-up does, for tools that create
// agents outside the server (closr-bench's large database).
func HashPassword(password string) []byte { return newPasswordHasher(0).hash(password) }

func (h passwordHasher) hash(password string) []byte {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, h.time, h.memory, 1, 32)
	return fmt.Appendf(nil, "$argon2id$v=19$m=%d,t=%d,p=1$%s$%s", h.memory, h.time,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// verify reports whether password matches the stored PHC string.
func (h passwordHasher) verify(stored []byte, password string) bool {
	parts := strings.Split(string(stored), "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// hashSlots bounds how many password hashes run at once: each takes 19 MiB,
// so a few hundred parallel logins or sign-ups would otherwise exhaust
// memory. One slot per CPU keeps every core busy and no more.
type hashSlots struct {
	c    chan struct{}
	wait time.Duration // how long a request waits for a slot before a 503
	runs atomic.Int64  // hashes run, so tests can see which attempts were checked
}

func newHashSlots(n int) *hashSlots {
	return &hashSlots{c: make(chan struct{}, n), wait: 2 * time.Second}
}

// errHashBusy says every hash slot stayed taken for the whole wait.
var errHashBusy = errors.New("every password hash slot is busy")

// run calls f in a slot, or returns errHashBusy when none frees in time.
func (h *hashSlots) run(ctx context.Context, f func()) error {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.c <- struct{}{}:
	case <-t.C:
		return errHashBusy
	case <-ctx.Done():
		return fmt.Errorf("waiting for a password hash slot: %w", ctx.Err())
	}
	defer func() { <-h.c }()
	h.runs.Add(1)
	f()
	return nil
}
