package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A batch in which one caller fails commits the others and undoes only the
// failing caller's changes, whatever its position.
func TestBatchIsolatesAFailingCaller(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("boom")
	insert := func(name string, fail error) *writeReq {
		return &writeReq{ctx: context.Background(), done: make(chan error, 1), fn: func(ctx context.Context, tx *wtx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO teams (name, created_at) VALUES (?, 0)", name); err != nil {
				return err
			}
			if fail != nil {
				return fail
			}
			return nil
		}}
	}
	panics := &writeReq{ctx: context.Background(), done: make(chan error, 1), fn: func(ctx context.Context, tx *wtx) error {
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
		db.commit(batch)
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
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	done := make(chan error, 1)
	go func() {
		_, err := db.CreateTeamWithOwner(context.Background(), "T", "A", "a@example.com", []byte("h"))
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
