package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DEV ONLY: replaced by storetest once the core lands.
func postgresTarget(t *testing.T) string {
	base := os.Getenv("CLOSR_TEST_POSTGRES")
	if base == "" {
		t.Skip("CLOSR_TEST_POSTGRES unset")
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	schema := fmt.Sprintf("t%d", time.Now().UnixNano())
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, _ := pgx.Connect(ctx, base)
		c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		c.Close(ctx)
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
