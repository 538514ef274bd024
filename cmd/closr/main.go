// Command closr serves Closr's integrations surface: the Settings →
// Integrations pages, the inbound-lead API, the web tracker and MCP.
//
//	closr [flags]            serve (default)
//	closr backup PATH        write a consistent copy of the database to PATH
//	closr migrate --from FILE --to postgres://…
//	                         copy a SQLite database into an empty PostgreSQL one
//
// --db (or CLOSR_DB) is a SQLite file, the default, or a postgres://
// address: several instances may then share the database.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"closr"
	"closr/handlers"
	"closr/mailer"
	"closr/store"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "closr:", err)
		os.Exit(1)
	}
}

// config is the command line, with environment fallbacks.
type config struct {
	addr          string
	db            string
	sessionSecret string
	limitKey      float64 // API requests per second per key; 0 is no limit
	limitIP       float64 // API requests per second per client IP; 0 is no limit
	proxies       []*net.IPNet
	errorsOnly    bool   // --access-log errors: a log line only for requests that failed
	smtpURL       string // "" sends no mail
	mailFrom      string
}

// minSecretLen is the shortest session secret accepted: the cookie keys
// derive from it, so a short one could be guessed offline from one cookie.
const minSecretLen = 32

func parseFlags(name string, args []string) (config, []string, error) {
	var cfg config
	limitKey, err := envFloat("CLOSR_LIMIT_KEY", handlers.DefaultKeyRate)
	if err != nil {
		return cfg, nil, err
	}
	limitIP, err := envFloat("CLOSR_LIMIT_IP", handlers.DefaultIPRate)
	if err != nil {
		return cfg, nil, err
	}
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.StringVar(&cfg.addr, "addr", envOr("CLOSR_ADDR", ":8080"), "address to listen on (env CLOSR_ADDR)")
	fl.StringVar(&cfg.db, "db", envOr("CLOSR_DB", "./closr.db"), "SQLite database file, or a postgres:// address (env CLOSR_DB)")
	fl.StringVar(&cfg.sessionSecret, "session-secret", os.Getenv("CLOSR_SESSION_SECRET"),
		"secret for session cookies (env CLOSR_SESSION_SECRET); generated and kept in the database when unset")
	fl.Float64Var(&cfg.limitKey, "limit-key", limitKey,
		"API requests per second per key, bursts of 4 s worth; 0 turns the limit off (env CLOSR_LIMIT_KEY)")
	fl.Float64Var(&cfg.limitIP, "limit-ip", limitIP,
		"API requests per second per client IP, bursts of 4 s worth; 0 turns the limit off (env CLOSR_LIMIT_IP)")
	proxies := fl.String("trusted-proxies", os.Getenv("CLOSR_TRUSTED_PROXIES"),
		"comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (env CLOSR_TRUSTED_PROXIES)")
	accessLog := fl.String("access-log", envOr("CLOSR_ACCESS_LOG", "all"),
		"which requests get a log line: all, or errors (status 400 and above) (env CLOSR_ACCESS_LOG)")
	fl.StringVar(&cfg.smtpURL, "smtp-url", os.Getenv("CLOSR_SMTP_URL"),
		"SMTP server for invitations and key notices, e.g. smtp://user:pass@host:587, STARTTLS when offered; unset sends no mail (env CLOSR_SMTP_URL)")
	fl.StringVar(&cfg.mailFrom, "mail-from", os.Getenv("CLOSR_MAIL_FROM"),
		`sender of Closr's mail, e.g. "Closr <closr@example.com>"; needed with --smtp-url (env CLOSR_MAIL_FROM)`)
	if err := fl.Parse(args); err != nil {
		return cfg, nil, err
	}
	switch *accessLog {
	case "all":
	case "errors":
		cfg.errorsOnly = true
	default:
		return cfg, nil, fmt.Errorf("--access-log (CLOSR_ACCESS_LOG) is %q; use all or errors", *accessLog)
	}
	if cfg.smtpURL != "" && cfg.mailFrom == "" {
		return cfg, nil, errors.New(`--smtp-url needs --mail-from (CLOSR_MAIL_FROM), the sender, e.g. "Closr <closr@example.com>"`)
	}
	if n := utf8.RuneCountInString(cfg.sessionSecret); n > 0 && n < minSecretLen {
		return cfg, nil, fmt.Errorf("--session-secret (CLOSR_SESSION_SECRET) has %d characters; use at least %d random ones, or leave it unset to have one generated", n, minSecretLen)
	}
	if cfg.proxies, err = handlers.ParseTrustedProxies(*proxies); err != nil {
		return cfg, nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if cfg.limitKey < 0 || cfg.limitIP < 0 {
		return cfg, nil, errors.New("--limit-key and --limit-ip take requests per second: 0 (off) or more")
	}
	return cfg, fl.Args(), nil
}

// envFloat reads a number from the environment; unset gives def.
func envFloat(name string, def float64) (float64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want requests per second, e.g. 50 (0 turns the limit off)", name, v)
	}
	return f, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "backup" {
		return backup(args[1:])
	}
	if len(args) > 0 && args[0] == "migrate" {
		return migrate(args[1:], os.Stdout)
	}
	cfg, rest, err := parseFlags("closr", args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unknown command %q (commands: backup, migrate)", rest[0])
	}
	return serve(cfg)
}

func serve(cfg config) error {
	// The live heap is small (under 10 MB under load): let it grow to three
	// times that between collections, which halves GC work on the ingest
	// path, while a soft limit keeps the process well inside 64 MB.
	debug.SetGCPercent(200)
	debug.SetMemoryLimit(40 << 20)
	// For profiling under load (closr-bench -cpuprofile): the profile is
	// written when the server stops.
	if path := os.Getenv("CLOSR_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	logs := newLogWriter(os.Stderr)
	defer logs.Close()
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// One process per SQLite file; PostgreSQL takes any number.
	if !store.IsPostgres(cfg.db) {
		unlock, err := lockDatabase(cfg.db)
		if err != nil {
			return err
		}
		defer unlock()
	}
	// One clock for the store and the handlers.
	clock := time.Now
	db, err := store.OpenWith(ctx, cfg.db, store.Options{Now: clock, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	secret := []byte(cfg.sessionSecret)
	if len(secret) == 0 {
		if secret, err = db.Setting(ctx, "session_secret", func() ([]byte, error) {
			b := make([]byte, 64)
			_, err := rand.Read(b)
			return b, err
		}); err != nil {
			return err
		}
	}
	static, err := fs.Sub(closr.Static, "static")
	if err != nil {
		return err
	}
	hc := handlers.Config{Store: db, Now: clock, Static: static, SessionKey: secret, Logger: log,
		LimitKey: cfg.limitKey, LimitIP: cfg.limitIP, TrustedProxies: cfg.proxies, LogErrorsOnly: cfg.errorsOnly}
	mail, err := startMail(cfg, log)
	if err != nil {
		return err
	}
	if mail != nil {
		hc.Mail = mail
		// After the HTTP server has stopped: what requests queued is sent.
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := mail.Close(ctx); err != nil {
				log.Warn("mail", "err", err)
			}
		}()
	}
	srv, err := handlers.New(hc)
	if err != nil {
		return err
	}
	hs := newHTTPServer(cfg.addr, srv, productionTimeouts())
	// Listening before saying so: with port 0 the log gives the real
	// address (tests start servers that way).
	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	go sweep(ctx, db, srv, log)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	log.Info("closr listening", "addr", l.Addr().String(), "db", store.Redacted(cfg.db),
		"limit_key_per_s", limitText(cfg.limitKey), "limit_ip_per_s", limitText(cfg.limitIP))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// startMail starts the mailer when an SMTP server is configured; nil means
// no mail. The log names the server without its credentials.
func startMail(cfg config, log *slog.Logger) (*mailer.Mailer, error) {
	if cfg.smtpURL == "" {
		log.Info("mail off: no --smtp-url; invitation links are shown to copy")
		return nil, nil
	}
	m, err := mailer.New(mailer.Config{URL: cfg.smtpURL, From: cfg.mailFrom, Log: log})
	if err != nil {
		return nil, fmt.Errorf("--smtp-url / --mail-from: %w", err)
	}
	u, _ := url.Parse(cfg.smtpURL)
	log.Info("mail on", "server", u.Host, "from", cfg.mailFrom)
	return m, nil
}

// limitText shows a rate limit in the start-up log line.
func limitText(perSecond float64) string {
	if perSecond == 0 {
		return "off"
	}
	return strconv.FormatFloat(perSecond, 'g', -1, 64)
}

// timeouts bound how long a client may take; slow clients cannot hold
// connections (and goroutines) open forever.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

func productionTimeouts() timeouts {
	return timeouts{readHeader: 5 * time.Second, read: 30 * time.Second, write: 60 * time.Second, idle: 120 * time.Second}
}

// newHTTPServer is the server closr runs, with the given timeouts.
func newHTTPServer(addr string, h http.Handler, t timeouts) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    64 << 10,
	}
}

func backup(args []string) error {
	cfg, rest, err := parseFlags("closr backup", args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("usage: closr backup [--db FILE] PATH")
	}
	if store.IsPostgres(cfg.db) {
		return errors.New("backup: closr backup copies a SQLite file; back up PostgreSQL with pg_dump (or your provider's backups)")
	}
	if _, err := os.Stat(rest[0]); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new path", rest[0])
	}
	// Opening a missing file would create an empty database and back it up.
	if _, err := os.Stat(cfg.db); err != nil {
		return fmt.Errorf("backup: no database at %s (set --db or CLOSR_DB)", cfg.db)
	}
	if err := store.Backup(context.Background(), cfg.db, rest[0]); err != nil {
		return err
	}
	fmt.Println("backup written to", rest[0])
	return nil
}

// sweep deletes what has expired every hour (see store.Sweep), refreshes
// the planner's statistics where tables have grown, and emails owners
// about keys that expire within a week.
func sweep(ctx context.Context, db *store.DB, srv *handlers.Server, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := db.Sweep(ctx); err != nil {
				log.Warn("sweep", "err", err)
			}
			if err := db.Optimize(ctx); err != nil {
				log.Warn("optimize", "err", err)
			}
			if err := srv.SendExpiryNotices(ctx); err != nil {
				log.Warn("key expiry notices", "err", err)
			}
		}
	}
}
