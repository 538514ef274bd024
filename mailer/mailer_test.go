package mailer_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"closr/mailer"
	"closr/mailer/mailtest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSendsOverSTARTTLSWithAuth: a message goes out in the background to a
// real SMTP server, over STARTTLS (offered by the server), authenticated,
// with the sender, recipients, subject and body it was given.
func TestSendsOverSTARTTLSWithAuth(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	m, err := mailer.New(mailer.Config{URL: srv.URL, From: "Closr <closr@example.com>", TLS: srv.TLS})
	if err != nil {
		t.Fatal(err)
	}
	body := "Open this link:\nhttps://closr.example.com/invite/" + strings.Repeat("x", 60) + "\n"
	m.Send([]string{"bo@example.com", "cy@example.com"}, "You're invited to Sunset Realty on Closr\r\nBcc: mallory@example.com", body)
	got := srv.Next(t)
	if !got.OverTLS {
		t.Fatal("the message was sent before STARTTLS")
	}
	if got.From != "closr@example.com" || strings.Join(got.To, ",") != "bo@example.com,cy@example.com" {
		t.Fatalf("envelope from %q to %q", got.From, got.To)
	}
	if got.Subject() != "You're invited to Sunset Realty on Closr  Bcc: mallory@example.com" || got.Header.Get("Bcc") != "" || !strings.Contains(got.Header.Get("From"), "closr@example.com") {
		t.Fatalf("headers %v", got.Header)
	}
	if strings.ReplaceAll(got.Body, "\r\n", "\n") != body {
		t.Fatalf("body %q, want %q", got.Body, body)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSendNeverBlocks: with a server that accepts connections and never
// answers, sending more than the queue holds still returns at once; what
// does not fit is dropped and logged, and the body (which may hold an
// invitation link) never reaches the log.
func TestSendNeverBlocks(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and stay silent
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	logs := &syncBuffer{}
	m, err := mailer.New(mailer.Config{URL: "smtp://" + l.Addr().String(), From: "closr@example.com", Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for range mailer.QueueSize + 10 {
			m.Send([]string{"bo@example.com"}, "Invitation", "secret link /invite/TOKEN-SECRET")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a server that does not answer")
	}
	if n := strings.Count(logs.String(), "mail dropped"); n < 9 {
		t.Fatalf("%d drops logged, want at least 9 of the 10 that did not fit:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "TOKEN-SECRET") {
		t.Fatal("a message body reached the log")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); err == nil {
		t.Fatal("Close reported everything sent while the server never answered")
	}
}

// TestFailuresAreLogged: a server that is down costs a log line per
// message, without the body.
func TestFailuresAreLogged(t *testing.T) {
	t.Parallel()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	logs := &syncBuffer{}
	m, err := mailer.New(mailer.Config{URL: "smtp://u:p@" + addr, From: "closr@example.com", Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m.Send([]string{"bo@example.com"}, "Invitation", "secret link /invite/TOKEN-SECRET")
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "mail not sent") || strings.Contains(logs.String(), "TOKEN-SECRET") || strings.Contains(logs.String(), "u:p@") {
		t.Fatalf("log after a failed send:\n%s", logs.String())
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, from, want string }{
		{"mail.example.com:587", "closr@example.com", "smtp://user:password@host:587"},
		{"http://mail.example.com", "closr@example.com", "smtp://user:password@host:587"},
		{"smtp://mail.example.com:x", "closr@example.com", "must look like"},
		{"smtp://mail.example.com", "not an address", "not an email address"},
	} {
		if _, err := mailer.New(mailer.Config{URL: tc.url, From: tc.from}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q): err = %v, want it to say %q", tc.url, tc.from, err, tc.want)
		}
	}
}
