package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

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
