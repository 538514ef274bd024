package main

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriterFlushesOnTickAndClose(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out)
	lw.Write([]byte("first line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "first line") {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was never flushed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lw.Write([]byte("last line\n"))
	lw.Close()
	if got := out.String(); got != "first line\nlast line\n" {
		t.Fatalf("output %q", got)
	}
}

// failOnce fails its first write, then works.
type failOnce struct {
	lockedBuffer
	failed bool
}

func (f *failOnce) Write(p []byte) (int, error) {
	if !f.failed {
		f.failed = true
		return 0, errors.New("write failed")
	}
	return f.lockedBuffer.Write(p)
}

func TestLogWriterRecoversFromAFailedWrite(t *testing.T) {
	out := &failOnce{}
	lw := newLogWriter(out)
	lw.Write([]byte("lost line\n"))
	lw.flush()
	lw.Write([]byte("later line\n"))
	lw.Close()
	if got := out.String(); got != "later line\n" {
		t.Fatalf("output %q: logging stopped after one failed write", got)
	}
}
