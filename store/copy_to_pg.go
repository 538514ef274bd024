package store

// Moving a SQLite deployment into PostgreSQL (closr migrate): every table
// is read from one snapshot of the file and written with COPY in one
// PostgreSQL transaction, which is verified before it commits, so a
// failed or refused move leaves the target as empty as it was.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// CopiedTable is one table of a move: its rows, and how many of them were
// read back from both databases and compared column by column.
type CopiedTable struct {
	Name     string
	Rows     int64
	Compared int
}

// CopyReport says what CopyToPostgres copied and checked.
type CopyReport struct {
	Tables  []CopiedTable
	Copy    time.Duration // reading, writing and indexing
	Verify  time.Duration // counts and sampled rows compared
	Analyze time.Duration // VACUUM (ANALYZE) of the copied tables, after the commit
	// AnalyzeErr is why that failed: the copy is committed all the same,
	// and VACUUM (ANALYZE) is left to the operator (or autovacuum).
	AnalyzeErr error
}

// Rows is the number of rows copied over all tables.
func (r CopyReport) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Rows
	}
	return n
}

// notCopied are the SQLite tables that hold nothing to move: the schema's
// own bookkeeping, SQLite's statistics, and the search index and its queue
// (PostgreSQL indexes the leads themselves).
func notCopied(table string) bool {
	return table == "schema_migrations" || strings.HasPrefix(table, "sqlite_") || strings.HasPrefix(table, "leads_fts")
}

// samplesPerTable is how many rows of each table are compared besides its
// first and last.
const samplesPerTable = 8

// CopyToPostgres copies the SQLite database at src into the empty
// PostgreSQL database at dst, creating its schema with Open. The source is
// opened read-only and must have exactly this binary's migrations. Rows
// keep their ids; sequences are moved past them. Before committing, every
// table's count is compared and a sample of rows (first, last and random
// ones) is read back from both sides and compared column by column.
// Progress lines go to progress.
func CopyToPostgres(ctx context.Context, src, dst string, progress io.Writer) (CopyReport, error) {
	m, err := startMove(ctx, src, dst)
	if err != nil {
		return CopyReport{}, err
	}
	defer m.close()
	rep, err := m.copy(ctx, progress)
	if err != nil {
		return rep, err
	}
	if err := m.verify(ctx, &rep); err != nil {
		return rep, err
	}
	if err := m.tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("commit: %w", err)
	}
	// Without statistics the planner takes a team of a million leads for a
	// few dozen, and common searches walked every lead (20 s each) until
	// autovacuum got to the tables. VACUUM sets the visibility map too, so
	// that index-only scans skip the rows from the start (a lead's page
	// with many views took 3 times as long until autovacuum came).
	start := time.Now()
	names := make([]string, len(m.tables))
	for i, t := range m.tables {
		names[i] = pgx.Identifier{t.name}.Sanitize()
	}
	if _, err := m.pg.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(names, ", ")); err != nil {
		rep.AnalyzeErr = err
		return rep, nil
	}
	rep.Analyze = time.Since(start)
	return rep, nil
}

// move is a copy under way: the source's read transaction, the target's
// write transaction, and the tables in the order they are copied.
type move struct {
	source *sql.DB
	stx    *sql.Tx
	pg     *pgx.Conn
	tx     pgx.Tx
	tables []copyPlan
}

// startMove opens both databases, checks them, and begins both
// transactions.
func startMove(ctx context.Context, src, dst string) (m *move, err error) {
	m = &move{}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	if m.source, err = openSource(ctx, src); err != nil {
		return m, err
	}
	target, err := Open(ctx, dst)
	if err != nil {
		return m, fmt.Errorf("open the target: %w", err)
	}
	if err := target.Close(); err != nil {
		return m, err
	}
	if m.pg, err = pgx.Connect(ctx, dst); err != nil {
		return m, fmt.Errorf("connect to the target: %w", err)
	}
	// One read transaction: every table from the same moment.
	if m.stx, err = m.source.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
		return m, err
	}
	if m.tables, err = planCopy(ctx, m.stx, m.pg); err != nil {
		return m, err
	}
	if m.tx, err = m.pg.Begin(ctx); err != nil {
		return m, err
	}
	if err := refuseData(ctx, m.tx, m.tables); err != nil {
		return m, err
	}
	// Index builds after the load get the memory they need to sort.
	_, err = m.tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'")
	return m, err
}

// close ends both transactions (a committed one stays committed) and both
// connections.
func (m *move) close() {
	ctx := context.Background()
	if m.tx != nil {
		m.tx.Rollback(ctx)
	}
	if m.stx != nil {
		m.stx.Rollback()
	}
	if m.pg != nil {
		m.pg.Close(ctx)
	}
	if m.source != nil {
		m.source.Close()
	}
}

// copy copies every table and moves the sequences past the copied ids.
// The foreign keys are dropped first and added again at the end, which
// checks each of them over the whole table in one join: checked row by row
// (three lookups for each page view), they took most of the time.
func (m *move) copy(ctx context.Context, progress io.Writer) (CopyReport, error) {
	var rep CopyReport
	start := time.Now()
	fks, err := dropForeignKeys(ctx, m.tx)
	if err != nil {
		return rep, err
	}
	for _, t := range m.tables {
		began := time.Now()
		n, err := copyTable(ctx, m.stx, m.tx, t)
		if err != nil {
			return rep, fmt.Errorf("copy %s: %w", t.name, err)
		}
		rep.Tables = append(rep.Tables, CopiedTable{Name: t.name, Rows: n})
		fmt.Fprintf(progress, "copied %-20s %10d rows in %v\n", t.name, n, time.Since(began).Round(time.Millisecond))
	}
	began := time.Now()
	for _, fk := range fks {
		if _, err := m.tx.Exec(ctx, "ALTER TABLE "+fk.table+" ADD CONSTRAINT "+fk.name+" "+fk.def); err != nil {
			return rep, fmt.Errorf("check %s: %w", fk.def, err)
		}
	}
	fmt.Fprintf(progress, "checked %d foreign keys in %v\n", len(fks), time.Since(began).Round(time.Millisecond))
	if err := moveSequences(ctx, m.tx, m.tables); err != nil {
		return rep, err
	}
	rep.Copy = time.Since(start)
	return rep, nil
}

// verify compares what copy wrote with the source, table by table.
func (m *move) verify(ctx context.Context, rep *CopyReport) error {
	start := time.Now()
	for i, t := range m.tables {
		n, err := verifyTable(ctx, m.stx, m.tx, t, rep.Tables[i].Rows)
		if err != nil {
			return fmt.Errorf("verify %s: %w; nothing was committed", t.name, err)
		}
		rep.Tables[i].Compared = n
	}
	rep.Verify = time.Since(start)
	return nil
}

// openSource opens the SQLite file read-only and checks that its schema is
// the one this binary writes.
func openSource(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no SQLite database at %s", path)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+
		fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)&_pragma=query_only(1)", DefaultBusyTimeout.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := checkSourceSchema(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func checkSourceSchema(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("%s is not a Closr database (no schema_migrations): %w", path, err)
	}
	var have []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		have = append(have, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	var want []string
	for _, n := range names {
		want = append(want, strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql"))
	}
	for _, v := range have {
		if !slices.Contains(want, v) {
			return fmt.Errorf("%s was written by a newer closr (it has migration %s, which this binary does not know): run migrate with that version or a later one", path, v)
		}
	}
	for _, v := range want {
		if !slices.Contains(have, v) {
			return fmt.Errorf("%s has an older schema (migration %s not applied): start this closr once on it (closr --db %s), stop it, then run migrate again", path, v, path)
		}
	}
	return nil
}

// copyPlan is one table to copy: the source's columns, which the target
// must have, and how each value is made fit for the target's column type.
type copyPlan struct {
	name    string
	cols    []string
	pk      []string // the source's primary key, for ordering and samples
	intPK   bool     // a single integer key: samples are picked by value
	conv    []func(any) (any, error)
	pgTypes []string
}

// planCopy lists the tables to copy, with their columns checked on both
// sides.
func planCopy(ctx context.Context, stx *sql.Tx, pg *pgx.Conn) ([]copyPlan, error) {
	var names []string
	rows, err := stx.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		if !notCopied(n) {
			names = append(names, n)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	var plans []copyPlan
	for _, n := range names {
		p, err := planTable(ctx, stx, pg, n)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

func planTable(ctx context.Context, stx *sql.Tx, pg *pgx.Conn, table string) (copyPlan, error) {
	p := copyPlan{name: table}
	pgCols := map[string]string{}
	rows, err := pg.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'`, table)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var c, ty string
		if err := rows.Scan(&c, &ty); err != nil {
			return p, err
		}
		pgCols[c] = ty
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if len(pgCols) == 0 {
		return p, fmt.Errorf("the target has no table %s: is its schema from this closr version?", table)
	}
	srows, err := stx.QueryContext(ctx, "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return p, err
	}
	defer srows.Close()
	pkAt := map[int]string{}
	for srows.Next() {
		var c, ty string
		var pk int
		if err := srows.Scan(&c, &ty, &pk); err != nil {
			return p, err
		}
		pgType, ok := pgCols[c]
		if !ok {
			return p, fmt.Errorf("the target's table %s has no column %s: is its schema from this closr version?", table, c)
		}
		conv, err := converter(pgType)
		if err != nil {
			return p, fmt.Errorf("%s.%s: %w", table, c, err)
		}
		p.cols = append(p.cols, c)
		p.conv = append(p.conv, conv)
		p.pgTypes = append(p.pgTypes, pgType)
		if pk > 0 {
			pkAt[pk] = c
			p.intPK = strings.EqualFold(ty, "INTEGER")
		}
	}
	if err := srows.Err(); err != nil {
		return p, err
	}
	for i := 1; i <= len(pkAt); i++ {
		p.pk = append(p.pk, pkAt[i])
	}
	if len(p.pk) == 0 {
		return p, fmt.Errorf("table %s has no primary key to compare rows by", table)
	}
	p.intPK = p.intPK && len(p.pk) == 1
	return p, nil
}

// foreignKey is one of the target's foreign keys, as SQL can add it again.
type foreignKey struct{ table, name, def string }

// dropForeignKeys drops the foreign keys of the target's tables and
// returns them.
func dropForeignKeys(ctx context.Context, tx pgx.Tx) ([]foreignKey, error) {
	rows, err := tx.Query(ctx, `SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	fks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk foreignKey, err error) {
		return fk, r.Scan(&fk.table, &fk.name, &fk.def)
	})
	if err != nil {
		return nil, err
	}
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+fk.table+" DROP CONSTRAINT "+fk.name); err != nil {
			return nil, err
		}
	}
	return fks, nil
}

// refuseData fails when any table to copy already has a row: a move goes
// into an empty database, never on top of another one.
func refuseData(ctx context.Context, tx pgx.Tx, tables []copyPlan) error {
	for _, t := range tables {
		var some bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+ident(t.name)+")").Scan(&some); err != nil {
			return err
		}
		if some {
			return fmt.Errorf("the target already holds data (table %s has rows; a closr server may have run on it): migrate into an empty database", t.name)
		}
	}
	return nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// copyTable copies one table with COPY. Its user triggers (the counts the
// schema keeps up to date) are off meanwhile, since the tables they
// maintain are copied as they are; its secondary indexes are dropped and
// built again after the load, which is several times faster than keeping
// them up to date row by row.
func copyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t copyPlan) (int64, error) {
	var triggers bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal)`,
		ident(t.name)).Scan(&triggers); err != nil {
		return 0, err
	}
	if triggers {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+ident(t.name)+" DISABLE TRIGGER USER"); err != nil {
			return 0, err
		}
	}
	indexes, err := dropIndexes(ctx, tx, t.name)
	if err != nil {
		return 0, err
	}
	rows, err := stx.QueryContext(ctx, "SELECT "+sqliteCols(t.cols)+" FROM "+ident(t.name))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	src := newRowSource(rows, t)
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src)
	if src.err != nil { // the reason, without PostgreSQL's wrapping of it
		return 0, src.err
	}
	if err != nil {
		return 0, err
	}
	for _, def := range indexes {
		if _, err := tx.Exec(ctx, def); err != nil {
			return 0, fmt.Errorf("rebuild index: %w", err)
		}
	}
	if triggers {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+ident(t.name)+" ENABLE TRIGGER USER"); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// dropIndexes drops the table's indexes that back no constraint and
// returns their definitions to build them again.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
		WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, ident(table))
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return nil, err
		}
		names, defs = append(names, n), append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := tx.Exec(ctx, "DROP INDEX "+n); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

func sqliteCols(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = ident(c)
	}
	return strings.Join(q, ", ")
}

// rowSource feeds COPY from the SQLite rows, converting each value.
type rowSource struct {
	rows *sql.Rows
	t    copyPlan
	vals []any
	ptrs []any
	err  error
}

func newRowSource(rows *sql.Rows, t copyPlan) *rowSource {
	s := &rowSource{rows: rows, t: t, vals: make([]any, len(t.cols)), ptrs: make([]any, len(t.cols))}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s
}

func (s *rowSource) Next() bool { return s.err == nil && s.rows.Next() }

func (s *rowSource) Values() ([]any, error) {
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return nil, err
	}
	out := make([]any, len(s.vals))
	for i, v := range s.vals {
		c, err := s.t.conv[i](v)
		if err != nil {
			s.err = fmt.Errorf("row %s, column %s: %w", s.key(), s.t.cols[i], err)
			return nil, s.err
		}
		out[i] = c
	}
	return out, nil
}

// key names the current row by its primary key, for error messages.
func (s *rowSource) key() string {
	var parts []string
	for _, k := range s.t.pk {
		i := slices.Index(s.t.cols, k)
		parts = append(parts, fmt.Sprintf("%s=%v", k, s.vals[i]))
	}
	return strings.Join(parts, " ")
}

func (s *rowSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// converter makes a SQLite value (int64, float64, string, []byte or nil)
// fit a PostgreSQL column of type pgType, refusing what would change it.
func converter(pgType string) (func(any) (any, error), error) {
	switch pgType {
	case "bigint", "integer", "smallint":
		return func(v any) (any, error) {
			switch v.(type) {
			case nil, int64:
				return v, nil
			}
			return nil, fmt.Errorf("%T %v is not an integer", v, v)
		}, nil
	case "boolean":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil:
				return nil, nil
			case int64:
				return x != 0, nil
			}
			return nil, fmt.Errorf("%T %v is not 0 or 1", v, v)
		}, nil
	case "double precision", "real":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil, float64:
				return v, nil
			case int64:
				return float64(x), nil
			}
			return nil, fmt.Errorf("%T %v is not a number", v, v)
		}, nil
	case "text", "character varying", "json", "jsonb":
		return func(v any) (any, error) {
			var s string
			switch x := v.(type) {
			case nil:
				return nil, nil
			case string:
				s = x
			case []byte:
				s = string(x)
			default:
				return nil, fmt.Errorf("%T %v is not text", v, v)
			}
			// PostgreSQL's text holds valid UTF-8 without NUL; anything
			// else would fail the COPY without saying which row.
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("text %q is not valid UTF-8 without NUL, which PostgreSQL cannot store", s)
			}
			return s, nil
		}, nil
	case "bytea":
		return func(v any) (any, error) {
			switch x := v.(type) {
			case nil, []byte:
				return v, nil
			case string:
				return []byte(x), nil
			}
			return nil, fmt.Errorf("%T %v is not bytes", v, v)
		}, nil
	}
	return nil, fmt.Errorf("the target's column type %s is not one closr migrate can fill", pgType)
}

// moveSequences sets each identity or serial sequence past the ids copied,
// so that the next row PostgreSQL numbers does not collide with one.
func moveSequences(ctx context.Context, tx pgx.Tx, tables []copyPlan) error {
	for _, t := range tables {
		for _, c := range t.cols {
			var seq *string
			if err := tx.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, $2)", ident(t.name), c).Scan(&seq); err != nil {
				return err
			}
			if seq == nil {
				continue
			}
			if _, err := tx.Exec(ctx, "SELECT setval($1, max("+ident(c)+")) FROM "+ident(t.name)+" HAVING count(*) > 0", *seq); err != nil {
				return fmt.Errorf("move sequence %s: %w", *seq, err)
			}
		}
	}
	return nil
}

// verifyTable compares the table's row count on both sides, then its
// first and last rows and samplesPerTable random ones, column by column.
// It returns how many rows it compared.
func verifyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t copyPlan, copied int64) (int, error) {
	var src, dst int64
	if err := stx.QueryRowContext(ctx, "SELECT count(*) FROM "+ident(t.name)).Scan(&src); err != nil {
		return 0, err
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+ident(t.name)).Scan(&dst); err != nil {
		return 0, err
	}
	if src != dst || copied != src {
		return 0, fmt.Errorf("%d rows in SQLite, %d copied, %d in PostgreSQL", src, copied, dst)
	}
	if src == 0 {
		return 0, nil
	}
	keys, err := sampleKeys(ctx, stx, t, src)
	if err != nil {
		return 0, err
	}
	cols := sqliteCols(t.cols)
	var where []string
	for i, k := range t.pk {
		where = append(where, fmt.Sprintf("%s = $%d", ident(k), i+1))
	}
	for _, key := range keys {
		sv := make([]any, len(t.cols))
		ptrs := make([]any, len(sv))
		for i := range sv {
			ptrs[i] = &sv[i]
		}
		if err := stx.QueryRowContext(ctx, "SELECT "+cols+" FROM "+ident(t.name)+" WHERE "+
			strings.ReplaceAll(strings.Join(where, " AND "), "$", "?"), key...).Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("read back %v from SQLite: %w", key, err)
		}
		pgKey := make([]any, len(key))
		for i, k := range t.pk {
			c, err := t.conv[slices.Index(t.cols, k)](key[i])
			if err != nil {
				return 0, err
			}
			pgKey[i] = c
		}
		rows, err := tx.Query(ctx, "SELECT "+cols+" FROM "+ident(t.name)+" WHERE "+strings.Join(where, " AND "), pgKey...)
		if err != nil {
			return 0, err
		}
		dv, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			return 0, fmt.Errorf("read back %v from PostgreSQL: %w", key, err)
		}
		for i := range t.cols {
			want, err := t.conv[i](sv[i])
			if err != nil {
				return 0, err
			}
			if !sameValue(want, dv[i], t.pgTypes[i]) {
				return 0, fmt.Errorf("row %v, column %s: SQLite has %v, PostgreSQL %v", key, t.cols[i], want, dv[i])
			}
		}
	}
	return len(keys), nil
}

// sampleKeys picks the primary keys of the first and last rows and of
// random ones: by value when the key is one integer (an index lookup
// each), by position otherwise (those tables are small or keyed by time).
func sampleKeys(ctx context.Context, stx *sql.Tx, t copyPlan, count int64) ([][]any, error) {
	pk := sqliteCols(t.pk)
	desc := strings.ReplaceAll(pk, ",", " DESC,") + " DESC"
	queries := []string{
		"SELECT " + pk + " FROM " + ident(t.name) + " ORDER BY " + pk + " LIMIT 1",
		"SELECT " + pk + " FROM " + ident(t.name) + " ORDER BY " + desc + " LIMIT 1",
	}
	args := [][]any{nil, nil}
	if t.intPK {
		var lo, hi int64
		if err := stx.QueryRowContext(ctx, "SELECT min("+pk+"), max("+pk+") FROM "+ident(t.name)).Scan(&lo, &hi); err != nil {
			return nil, err
		}
		for range samplesPerTable {
			queries = append(queries, "SELECT "+pk+" FROM "+ident(t.name)+" WHERE "+pk+" >= ? ORDER BY "+pk+" LIMIT 1")
			args = append(args, []any{lo + rand.Int64N(hi-lo+1)})
		}
	} else {
		for range samplesPerTable {
			queries = append(queries, "SELECT "+pk+" FROM "+ident(t.name)+" ORDER BY "+pk+" LIMIT 1 OFFSET ?")
			args = append(args, []any{rand.Int64N(count)})
		}
	}
	var keys [][]any
	for i, q := range queries {
		key := make([]any, len(t.pk))
		ptrs := make([]any, len(key))
		for j := range key {
			ptrs[j] = &key[j]
		}
		if err := stx.QueryRowContext(ctx, q, args[i]...).Scan(ptrs...); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(keys, func(k []any) bool { return reflect.DeepEqual(k, key) }) {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// sameValue compares a converted SQLite value with what pgx read back.
// JSON columns compare as JSON: jsonb keeps its own spacing.
func sameValue(want, got any, pgType string) bool {
	switch pgType {
	case "json", "jsonb":
		s, ok := want.(string)
		if !ok {
			return want == nil && got == nil
		}
		var w any
		if json.Unmarshal([]byte(s), &w) != nil {
			return false
		}
		return reflect.DeepEqual(w, got)
	case "bytea":
		w, _ := want.([]byte)
		g, _ := got.([]byte)
		return (want == nil) == (got == nil) && bytes.Equal(w, g)
	case "integer", "smallint":
		if g, ok := got.(int32); ok {
			got = int64(g)
		} else if g, ok := got.(int16); ok {
			got = int64(g)
		}
	case "real":
		if g, ok := got.(float32); ok {
			got = float64(g)
		}
	}
	return reflect.DeepEqual(want, got)
}
