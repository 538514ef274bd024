package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A second server on the same database refuses to start: the first one
// holds the active keys in memory, and its revokes would not reach another.
func TestOneServerPerDatabase(t *testing.T) {
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
