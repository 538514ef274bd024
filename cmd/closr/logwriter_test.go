package main

import (
	"bytes"
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
