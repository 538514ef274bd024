package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchSchema makes a schema of this run's own in the PostgreSQL database
// at addr, so that a run starts empty and leaves nothing behind, and
// returns the address that selects it (search_path) and its drop.
func benchSchema(addr string) (string, func(), error) {
	ctx := context.Background()
	u, err := url.Parse(addr)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	c, err := pgx.Connect(ctx, addr)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	defer c.Close(ctx)
	schema := fmt.Sprintf("closr_bench_%d_%d", os.Getpid(), time.Now().Unix())
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		c, err := pgx.Connect(ctx, addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "closr-bench: drop schema %s: %v\n", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "closr-bench: drop schema %s: %v\n", schema, err)
		}
	}
	return u.String(), drop, nil
}

// alternate sends odd requests with a and even ones with b: the load split
// between two instances.
func alternate(a, b requestFunc) requestFunc {
	return func(n int64) *http.Request {
		if n%2 == 0 {
			return b(n)
		}
		return a(n)
	}
}
