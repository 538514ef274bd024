// Package mailer sends Closr's mail (invitations, key notices) through an
// SMTP server in the background: a request never waits for mail, and mail
// that cannot be sent is logged and dropped, never queued without bound.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// QueueSize bounds how many messages may wait to be sent.
const QueueSize = 100

// sendTimeout bounds one delivery, from dialling to the server's answer.
const sendTimeout = 30 * time.Second

// Config is where and as whom to send.
type Config struct {
	// URL is the SMTP server: smtp://user:pass@host:587 (STARTTLS when the
	// server offers it) or smtps://user:pass@host:465 (TLS from the start).
	URL string
	// From is the sender, e.g. "Closr <closr@example.com>".
	From string
	Log  *slog.Logger
	// TLS verifies the server; nil means the system's roots and the URL's
	// host (tests trust their own server's certificate here).
	TLS *tls.Config
}

// Mailer sends mail from one goroutine, in the order it was queued.
type Mailer struct {
	client *gomail.Client
	from   string
	log    *slog.Logger
	queue  chan message
	done   chan struct{}

	mu     sync.RWMutex // guards closed against sends racing Close
	closed bool
}

type message struct {
	to            []string
	subject, body string
}

// New checks the configuration and starts the sending goroutine.
func New(cfg Config) (*Mailer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("the SMTP URL must look like smtp://user:password@host:587 (or smtps://… for TLS from the start)")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("the sender %q is not an email address like \"Closr <closr@example.com>\"", cfg.From)
	}
	port := 587
	opts := []gomail.Option{gomail.WithTimeout(sendTimeout), gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("the SMTP URL's port %q is not a number", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.TLS != nil {
		opts = append(opts, gomail.WithTLSConfig(cfg.TLS))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		// The strongest mechanism the server offers; PLAIN and LOGIN only
		// over TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	client, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &Mailer{client: client, from: cfg.From, log: cfg.Log, queue: make(chan message, QueueSize), done: make(chan struct{})}
	go m.run()
	return m, nil
}

// Send queues a plain-text message and returns at once. When the queue is
// full or the mailer is closed, the message is dropped and logged. The body
// may hold a secret (an invitation link): it is never logged.
func (m *Mailer) Send(to []string, subject, body string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.closed {
		select {
		case m.queue <- message{to: to, subject: subject, body: body}:
			return
		default:
		}
	}
	m.log.Warn("mail dropped: the queue is full or closed", "to", to, "subject", subject)
}

func (m *Mailer) run() {
	defer close(m.done)
	for msg := range m.queue {
		if err := m.send(msg); err != nil {
			m.log.Warn("mail not sent", "to", msg.to, "subject", msg.subject, "err", err)
		}
	}
}

func (m *Mailer) send(msg message) error {
	gm := gomail.NewMsg()
	if err := gm.From(m.from); err != nil {
		return err
	}
	if err := gm.To(msg.to...); err != nil {
		return err
	}
	// A subject carries names and labels people typed. go-mail encodes a
	// line break in it (no header can be added that way), but the subject
	// is one line: a break would only garble it in the reader's inbox.
	gm.Subject(strings.NewReplacer("\r", " ", "\n", " ").Replace(msg.subject))
	gm.SetBodyString(gomail.TypeTextPlain, msg.body)
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	return m.client.DialAndSendWithContext(ctx, gm)
}

// Close stops taking mail and waits until what was queued has been sent,
// or ctx ends.
func (m *Mailer) Close(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail still queued at shutdown: %w", ctx.Err())
	}
}
