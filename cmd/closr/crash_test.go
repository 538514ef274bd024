package main

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"closr/store/storetest"
)

// TestCrashLosesNothingAcknowledged kills the server with SIGKILL while it
// takes leads from many goroutines, restarts it on the same database, and
// checks that every lead that got a 2xx is in the database exactly once:
// on a SQLite file, or on PostgreSQL when CLOSR_TEST_POSTGRES is set (the
// server and the database are then separate processes, and only the
// server is killed).
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	cycles := 5
	if testing.Short() {
		cycles = 2
	}
	bin := buildBinary(t)
	dbPath := storetest.Addr(t)
	key := seedDB(t, dbPath)

	acked := map[string]bool{}
	var sent int64
	for cycle := range cycles {
		srv := startServer(t, bin, dbPath)
		l := startLoad(srv.addr, key, fmt.Sprintf("c%d", cycle), 8)
		// The first answers can take a while on a busy machine (on
		// PostgreSQL, the pool's first connections): the kill comes
		// after some lead was acknowledged, else the cycle proves nothing.
		for deadline := time.Now().Add(10 * time.Second); len(l.snapshot()) == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		// A different moment each cycle: early in the load, or well into it.
		time.Sleep(time.Duration(100+rand.IntN(900)) * time.Millisecond)
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		srv.wait(t, 10*time.Second)
		l.finish()
		for e := range l.snapshot() {
			acked[e] = true
		}
		sent += l.sent.Load()
		if len(l.snapshot()) == 0 {
			t.Fatalf("cycle %d: no lead was acknowledged before the kill\n%s", cycle, srv.stderr)
		}
	}
	// The last restart proves the file opens cleanly after the last kill.
	srv := startServer(t, bin, dbPath)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.wait(t, 15*time.Second); err != nil {
		t.Fatalf("clean stop after the crashes: %v\n%s", err, srv.stderr)
	}
	stored := submissionsByEmail(t, dbPath)
	checkStored(t, acked, stored)
	t.Logf("%d SIGKILL cycles survived; %d requests sent, %d leads acknowledged, all %d found exactly once (%d stored in all)",
		cycles, sent, len(acked), len(acked), len(stored))
}
