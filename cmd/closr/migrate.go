package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"closr/store"
)

// migrate copies a SQLite deployment into an empty PostgreSQL database
// (store.CopyToPostgres) and prints what it copied and checked. It holds
// the SQLite file's server lock meanwhile: a lead a running server took
// after the copy began would be left behind.
func migrate(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("closr migrate", flag.ContinueOnError)
	from := fl.String("from", "", "the SQLite database file to copy (it is only read)")
	to := fl.String("to", "", "the PostgreSQL database to copy into, postgres://user:pass@host/db; it must hold no data")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fl.NArg() > 0 {
		return errors.New("usage: closr migrate --from ./closr.db --to postgres://user:pass@host/db")
	}
	if !store.IsPostgres(*to) {
		return fmt.Errorf("--to is not a PostgreSQL address: use postgres://user:pass@host/db")
	}
	// The lock file is made beside the database: a mistyped path must not
	// leave one behind.
	if _, err := os.Stat(*from); err != nil {
		return fmt.Errorf("migrate: no SQLite database at %s", *from)
	}
	unlock, err := lockDatabase(*from)
	if err != nil {
		return fmt.Errorf("migrate: %w; stop it first", err)
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(out, "copying %s into %s\n", *from, store.Redacted(*to))
	rep, err := store.CopyToPostgres(ctx, *from, *to, out)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	compared := 0
	for _, t := range rep.Tables {
		compared += t.Compared
	}
	stats := fmt.Sprintf("tables vacuumed and analyzed in %v", rep.Analyze.Round(time.Millisecond))
	if rep.AnalyzeErr != nil {
		stats = fmt.Sprintf("tables NOT vacuumed and analyzed (%v): run VACUUM (ANALYZE) in psql before starting closr, or searches will be slow until autovacuum does", rep.AnalyzeErr)
	}
	fmt.Fprintf(out, "done: %d rows in %d tables copied in %v (%.0f rows/s); counts equal in every table, %d sampled rows equal column by column (checked in %v); %s\n",
		rep.Rows(), len(rep.Tables), rep.Copy.Round(time.Millisecond), float64(rep.Rows())/rep.Copy.Seconds(), compared, rep.Verify.Round(time.Millisecond), stats)
	fmt.Fprintf(out, "start closr with --db %s; keep %s as it is until you are sure\n", store.Redacted(*to), *from)
	return nil
}
