package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out every flushEvery and on
// Close: a write system call per request line cost more under load than
// building the line. A SIGKILL loses at most the last flushEvery of lines.
type logWriter struct {
	mu   sync.Mutex
	out  io.Writer
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	lw := &logWriter{out: w, buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.flushLoop()
	return lw
}

func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Write(p)
}

func (lw *logWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if err := lw.buf.Flush(); err != nil {
		// A bufio.Writer keeps its first error and refuses all later
		// writes; start afresh so one failed write does not end logging.
		lw.buf.Reset(lw.out)
	}
}

func (lw *logWriter) flushLoop() {
	defer close(lw.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			lw.flush()
			return
		case <-t.C:
			lw.flush()
		}
	}
}

// Close writes out what is buffered and stops the flushing.
func (lw *logWriter) Close() error {
	close(lw.stop)
	<-lw.done
	return nil
}
