package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"closr/store/storetest"
)

// A second server on the same database refuses to start: the first one
// holds the active keys in memory, and its revokes would not reach another.
func TestOneServerPerDatabase(t *testing.T) {
	storetest.SQLiteOnly(t, "the lock file guards a SQLite file; TestServersShareOnePostgres is its PostgreSQL pass")
	bin := buildBinary(t)
	dbPath := filepath.Join(t.TempDir(), "closr.db")
	seedDB(t, dbPath)
	first := startServer(t, bin, dbPath)
	out, err := exec.Command(bin, "--addr", "127.0.0.1:0", "--db", dbPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another closr server is already using") {
		t.Fatalf("second server: err %v, output %s", err, out)
	}
	r, err := http.Get("http://" + first.addr + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("the first server stopped answering: %v", err)
	}
	r.Body.Close()
}

// On PostgreSQL there is no lock file: a second server on the same
// database starts and answers beside the first, and neither logs the
// address's password.
func TestServersShareOnePostgres(t *testing.T) {
	storetest.PostgresOnly(t, "a PostgreSQL database (TestOneServerPerDatabase is the SQLite pass)")
	bin := buildBinary(t)
	u, err := url.Parse(storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "pw-not-for-logs") // the test server trusts local connections
	addr := u.String()
	seedDB(t, addr)
	first := startServer(t, bin, addr)
	second := startServer(t, bin, addr)
	for _, s := range []*server{first, second} {
		r, err := http.Get("http://" + s.addr + "/healthz")
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("server at %s: %v", s.addr, err)
		}
		r.Body.Close()
		if strings.Contains(s.stderr.String(), "pw-not-for-logs") {
			t.Fatalf("the log holds the database password:\n%s", s.stderr)
		}
	}
}
