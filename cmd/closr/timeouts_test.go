package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestSlowClientIsCutOff: a client that never finishes its headers is
// disconnected once the header timeout passes, and does not stop others.
func TestSlowClientIsCutOff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	tm := productionTimeouts()
	tm.readHeader = 300 * time.Millisecond
	hs := newHTTPServer("", ok, tm)
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: closr\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Far longer than the header timeout: if the server never hangs up,
	// this read ends on our own deadline instead and the test fails.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server kept a connection with unfinished headers open")
	}
	t.Logf("slow client cut off; it read %q", resp)

	// A normal client is served meanwhile and afterwards.
	r, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(r.Body))
	r.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("normal request got %q", body)
	}
}

// TestProductionTimeoutsAreSet guards against a refactor dropping one.
func TestProductionTimeoutsAreSet(t *testing.T) {
	hs := newHTTPServer(":0", http.NotFoundHandler(), productionTimeouts())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": hs.ReadHeaderTimeout, "ReadTimeout": hs.ReadTimeout,
		"WriteTimeout": hs.WriteTimeout, "IdleTimeout": hs.IdleTimeout} {
		if d <= 0 {
			t.Errorf("%s is %v; a slow client could hold a connection forever", name, d)
		}
	}
	if hs.MaxHeaderBytes <= 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d", hs.MaxHeaderBytes)
	}
}
