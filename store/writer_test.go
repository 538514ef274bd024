package store

import (
	"closr/store/storetest"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"strings"
	"testing"
	"time"
)

// A batch in which one caller fails commits the others and undoes only the
// failing caller's changes, whatever its position.
func TestBatchIsolatesAFailingCaller(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("boom")
	insert := func(name string, fail error) *writeReq {
		return &writeReq{ctx: context.Background(), done: make(chan error, 1), fn: func(ctx context.Context, tx writeTx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO teams (name, created_at) VALUES (?, 0)", name); err != nil {
				return err
			}
			if fail != nil {
				return fail
			}
			return nil
		}}
	}
	panics := &writeReq{ctx: context.Background(), done: make(chan error, 1), fn: func(ctx context.Context, tx writeTx) error {
		tx.ExecContext(ctx, "INSERT INTO teams (name, created_at) VALUES ('panicked', 0)")
		panic("bad write")
	}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	late := insert("late", nil)
	late.ctx = cancelled
	for round, batch := range [][]*writeReq{
		{insert("a1", nil), insert("a2", boom), insert("a3", nil)},
		{insert("b1", boom), insert("b2", nil)},
		{insert("c1", nil), panics, late, insert("c2", nil)},
		{insert("d1", boom)},
	} {
		commitTogether(db, batch)
		for i, req := range batch {
			err := <-req.done
			wantErr := map[string]bool{"0.1": true, "1.0": true, "2.1": true, "2.2": true, "3.0": true}[fmt.Sprintf("%d.%d", round, i)]
			if (err != nil) != wantErr {
				t.Errorf("round %d caller %d: err = %v, want error: %v", round, i, err, wantErr)
			}
		}
	}
	var names []string
	rows, _ := db.r.Query("SELECT name FROM teams ORDER BY id")
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	if got, want := fmt.Sprint(names), "[a1 a3 b2 c1 c2]"; got != want {
		t.Fatalf("committed %s, want %s", got, want)
	}
}

// A write after Close fails at once instead of waiting for a writer that
// has stopped.
func TestWriteAfterCloseFails(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	done := make(chan error, 1)
	go func() {
		_, err := db.CreateTeamWithOwner(context.Background(), "T", NewAgent{Name: "A", Email: "a@example.com", PasswordHash: []byte("h")})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write after Close hangs")
	}
}

// commitTogether has the writer goroutine run batch as one batch, in order:
// it holds the writer busy with a write of its own while it queues them.
// (Calling db.commit from the test would race with the writer.)
func commitTogether(db *DB, batch []*writeReq) {
	running, release := make(chan struct{}), make(chan struct{})
	go db.write(context.Background(), func(context.Context, writeTx) error {
		close(running)
		<-release
		return nil
	})
	<-running
	for _, req := range batch {
		db.writes <- req
	}
	close(release)
}

// openTestDB opens a fresh database in the test's temporary directory.
func openTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// teamNames lists the teams table, in insertion order.
func teamNames(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.r.Query("SELECT name FROM teams ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return fmt.Sprint(names)
}

// insertTeam is a body that inserts a team named name and counts its runs.
func insertTeam(name string, runs *int) func(context.Context, writeTx) error {
	return func(ctx context.Context, tx writeTx) error {
		*runs++
		_, err := tx.ExecContext(ctx, "INSERT INTO teams (name, created_at) VALUES (?, 0)", name)
		return err
	}
}

func request(fn func(context.Context, writeTx) error) *writeReq {
	return &writeReq{ctx: context.Background(), fn: fn, done: make(chan error, 1)}
}

// A refusal made before a body writes (a revoked key, a limit, a reused
// idempotency key) costs the batch nothing: the other bodies run once and
// commit, and the batch is not rolled back and run again.
func TestRefusalDoesNotRerunTheBatch(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	agent := addTeam(t, db, "a@example.com")
	k := addKey(t, db, agent)
	if _, err := db.RevokeAPIKey(context.Background(), agent.TeamID, k.ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	var runs1, runs2 int
	revoked := request(func(ctx context.Context, tx writeTx) error { return db.keyStillActive(ctx, tx, k.TeamID, k.ID) })
	batch := []*writeReq{request(insertTeam("a1", &runs1)), revoked, request(insertTeam("a2", &runs2))}
	commitTogether(db, batch)
	for i, want := range []error{nil, ErrKeyRevoked, nil} {
		if err := <-batch[i].done; !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("caller %d: err = %v, want %v", i, err, want)
		}
	}
	if runs1 != 1 || runs2 != 1 || db.reruns.Load() != 0 {
		t.Fatalf("bodies ran %d and %d times, %d reruns; want once each and none", runs1, runs2, db.reruns.Load())
	}
	if got := teamNames(t, db); got != "[Team a@example.com a1 a2]" {
		t.Fatalf("teams %s", got)
	}
}

// rollbackOn is a writeTx on which the query containing match makes SQLite
// roll the transaction back, as it does itself on a full disk, an I/O error
// or out of memory, and then fails.
type rollbackOn struct {
	writeTx
	match string
}

func (tx rollbackOn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if strings.Contains(query, tx.match) {
		tx.writeTx.ExecContext(ctx, "ROLLBACK")
		return tx.writeTx.QueryRowContext(ctx, "SELECT nothing FROM rolled_back")
	}
	return tx.writeTx.QueryRowContext(ctx, query, args...)
}

// When SQLite rolls the transaction back inside a body (here inside the
// check that an email is not another lead's), nothing is stored piecemeal:
// every caller told that its write failed has nothing stored, and every
// caller told it succeeded has it all. Before, the check dropped its error
// and the rest of the batch ran outside any transaction.
func TestSQLiteRollbackInsideABodyStoresNothingPiecemeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	agent, err := db.CreateTeamWithOwner(ctx, "T", NewAgent{Name: "A", Email: "a@example.com", PasswordHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	lead := LeadInput{TeamID: agent.TeamID, Name: "Jo", Phone: "+15551234567", Raw: []byte("{}"), At: time.Now()}
	if _, err := db.IngestLead(ctx, lead); err != nil {
		t.Fatal(err)
	}
	// The same person again, now with an email: the merge checks that no
	// other lead has that email, and SQLite rolls back right there.
	again := lead
	again.Email, again.Raw = "jo@example.com", []byte(`{"email":"jo@example.com"}`)
	again.customJSON, again.fieldsJSON = "[]", "[]"
	var runs1, runs2 int
	merge := request(func(ctx context.Context, tx writeTx) error {
		_, err := db.ingestLead(ctx, rollbackOn{tx, "SELECT id FROM leads WHERE team_id = ? AND email"}, again, false)
		return err
	})
	batch := []*writeReq{request(insertTeam("a1", &runs1)), merge, request(insertTeam("a2", &runs2))}
	commitTogether(db, batch)
	results := make([]error, len(batch))
	for i := range batch {
		results[i] = <-batch[i].done
	}
	if results[1] == nil {
		t.Fatal("the body whose transaction SQLite rolled back was told it succeeded")
	}
	var subs int
	var email string
	db.r.QueryRow("SELECT count(*) FROM submissions").Scan(&subs)
	db.r.QueryRow("SELECT email FROM leads").Scan(&email)
	if subs != 1 || email != "" {
		t.Fatalf("the failed merge was stored piecemeal: %d submissions, email %q", subs, email)
	}
	names := teamNames(t, db)
	for i, name := range map[int]string{0: "a1", 2: "a2"} {
		if stored := strings.Contains(names, name); stored != (results[i] == nil) {
			t.Errorf("caller %d: err = %v, but stored = %v (teams %s)", i, results[i], stored, names)
		}
	}
	// The writer recovers: the next write commits.
	if _, err := db.CreateTeamWithOwner(ctx, "After", NewAgent{Name: "B", Email: "b@example.com", PasswordHash: []byte("h")}); err != nil {
		t.Fatalf("write after the rollback: %v", err)
	}
}

// A body that makes SQLite roll back the whole transaction (a trigger's
// RAISE(ROLLBACK) stands in for a full disk) breaks the savepoints of the
// isolated rerun: every caller of the batch is told, none of it is stored,
// the failed ROLLBACK after SQLite's own is not an error of its own, and
// the next batch commits on a healthy connection.
func TestBrokenSavepointFailsTheWholeBatch(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite rolls the whole transaction back on some errors")
	t.Parallel()
	db := openTestDB(t)
	if _, err := db.w.Exec(`CREATE TRIGGER boom BEFORE INSERT ON teams WHEN NEW.name = 'boom'
		BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	var n int
	for round, batch := range [][]*writeReq{
		{request(insertTeam("a1", &n)), request(insertTeam("boom", &n)), request(insertTeam("a3", &n))},
		{request(insertTeam("boom", &n))},
	} {
		commitTogether(db, batch)
		for i, req := range batch {
			err := <-req.done
			if err == nil || !strings.Contains(err.Error(), "boom") {
				t.Errorf("round %d caller %d: err = %v, want the rollback's error", round, i, err)
			}
			if strings.Contains(fmt.Sprint(err), "roll back") {
				t.Errorf("round %d caller %d: the ROLLBACK after SQLite's own was reported: %v", round, i, err)
			}
		}
	}
	if got := teamNames(t, db); got != "[]" {
		t.Fatalf("teams %s, want none", got)
	}
	batch := []*writeReq{request(insertTeam("b1", &n)), request(insertTeam("b2", &n))}
	commitTogether(db, batch)
	for i, req := range batch {
		if err := <-req.done; err != nil {
			t.Fatalf("caller %d after the broken batches: %v", i, err)
		}
	}
	if got := teamNames(t, db); got != "[b1 b2]" {
		t.Fatalf("teams %s, want [b1 b2]", got)
	}
}

// countingEngine counts the engine's in-transaction key checks.
type countingEngine struct {
	engine
	keyReads *int
}

func (e countingEngine) keyRowActive(ctx context.Context, tx writeTx, keyID, now int64) (bool, error) {
	*e.keyReads++
	return e.engine.keyRowActive(ctx, tx, keyID, now)
}

// A batch reads a key's row once (a round trip per body on PostgreSQL),
// and again after a body of the batch changed the key: here an expiry set
// to now, which PostgreSQL's row check refuses at once. (SQLite decides
// from memory, which the expiry reaches when the batch commits.)
func TestKeyCheckedOncePerBatchUntilItChanges(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	agent := addTeam(t, db, "a@example.com")
	k := addKey(t, db, agent)
	var reads int
	db.eng = countingEngine{db.eng, &reads}
	check := func() *writeReq {
		return request(func(ctx context.Context, tx writeTx) error { return db.keyStillActive(ctx, tx, k.TeamID, k.ID) })
	}
	// Freeze the clock inside one second, so that the batch's checks share it.
	now := time.Now().Truncate(time.Second).Add(time.Millisecond)
	db.now = func() time.Time { return now }

	running, release := make(chan struct{}), make(chan struct{})
	go db.write(ctx, func(context.Context, writeTx) error { close(running); <-release; return nil })
	<-running
	before := []*writeReq{check(), check(), check()}
	for _, req := range before {
		db.writes <- req
	}
	expired := make(chan error, 1)
	go func() {
		_, err := db.ExpireAPIKey(ctx, k.TeamID, k.ID, agent.ID, now)
		expired <- err
	}()
	for len(db.writes) < len(before)+1 {
		time.Sleep(time.Millisecond)
	}
	after := check()
	db.writes <- after
	close(release)

	for i, req := range before {
		if err := <-req.done; err != nil {
			t.Errorf("check %d before the expiry: %v", i, err)
		}
	}
	if err := <-expired; err != nil {
		t.Fatal(err)
	}
	err := <-after.done
	if reads != 2 {
		t.Errorf("the key's row was read %d times; want 2 (once, then again after the expiry)", reads)
	}
	if storetest.Postgres() {
		if !errors.Is(err, ErrKeyRevoked) {
			t.Errorf("check after the expiry in the same batch: %v, want ErrKeyRevoked", err)
		}
	} else if err != nil {
		t.Errorf("check after the expiry in the same batch: %v, want nil (memory learns of the expiry at the commit)", err)
	}
}

// A body that fails inside its savepoint loses the team's lock it took
// there (PostgreSQL releases it with the savepoint) and what it noted: the
// next body of the team takes the lock again and reads its key's row. Here
// a batch is run again body by body because its first body fails after
// checking key K; the second body's caller revokes K through another
// instance (which gets the lock at once: nobody holds it) and then checks
// K. Before, the writer believed it still held the lock and trusted the
// failed body's note: the check passed for a key whose revoke had returned.
func TestFailedSavepointReleasesTheTeamLock(t *testing.T) {
	storetest.PostgresOnly(t, "PostgreSQL's advisory locks and savepoints")
	t.Parallel()
	ctx := context.Background()
	addr := storetest.Addr(t)
	one, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	two, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	agent := addTeam(t, one, "a@example.com")
	k := addKey(t, one, agent)
	fails := request(func(ctx context.Context, tx writeTx) error {
		if err := one.keyStillActive(ctx, tx, agent.TeamID, k.ID); err != nil {
			return err
		}
		return errors.New("boom")
	})
	held := -1
	checks := request(func(ctx context.Context, tx writeTx) error {
		if _, err := two.RevokeAPIKey(ctx, agent.TeamID, k.ID, agent.ID); err != nil {
			return err
		}
		err := one.keyStillActive(ctx, tx, agent.TeamID, k.ID)
		if qerr := tx.QueryRowContext(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted").Scan(&held); qerr != nil {
			return qerr
		}
		return err
	})
	commitTogether(one, []*writeReq{fails, checks})
	if err := <-fails.done; err == nil || errors.Is(err, ErrKeyRevoked) {
		t.Errorf("the failing body: %v, want its own error", err)
	}
	if err := <-checks.done; !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("a check after the key's revoke returned: %v, want ErrKeyRevoked", err)
	}
	if held != 1 {
		t.Errorf("the checking body holds %d advisory locks, want 1 (its team's, taken again)", held)
	}
}
