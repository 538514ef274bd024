package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrIdempotencyMismatch is an Idempotency-Key reused with another body.
var ErrIdempotencyMismatch = errors.New("idempotency key reused with a different body")

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// Field is one named value of a submission, in the order it was sent.
type Field struct {
	Name  string
	Value string
}

// LeadInput is one validated submission for IngestLead.
type LeadInput struct {
	TeamID      int64
	KeyID       int64
	Test        bool // sent by Closr's own test buttons (see Lead.Test)
	Name        string
	Email       string // lower-cased
	Phone       string // E.164
	Message     string
	Source      string
	Custom      []Field  // fields that are not one of the above
	Fields      []Field  // every field as parsed, for the submission record
	Notes       []string // what the submission left out or lacked
	ContentType string
	Raw         []byte
	VisitorID   string // the tracker's visitor id, when the form carried one
	IdemKey     string
	IdemHash    [32]byte
	At          time.Time

	// Encoded by IngestLead before the lead joins the writer's queue, so
	// the single writer does no JSON work it need not.
	customJSON, fieldsJSON, notesJSON string
}

// IngestResult says what IngestLead did.
type IngestResult struct {
	LeadID   int64
	Created  bool // a new lead; otherwise the submission joined an existing one
	Replayed bool // an Idempotency-Key repeat: nothing new was stored
}

// IngestLead stores a submission in one transaction: it creates the lead, or
// attaches the submission to the team's lead with the same email or phone.
// When it returns without error the data is committed.
func (db *DB) IngestLead(ctx context.Context, in LeadInput) (IngestResult, error) {
	var res IngestResult
	in.customJSON, in.fieldsJSON, in.notesJSON = fieldsJSON(firstFields(in.Custom)), fieldsJSON(in.Fields), notesJSON(in.Notes)
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		var err error
		// Another instance may have marked the team a moment ago, and no
		// notification can beat this commit: on PostgreSQL every lead looks.
		pending := db.peers.shared() || db.pending.has(in.TeamID) || tx.noted(batchNote{kind: noteTeamPending, id: in.TeamID})
		res, err = db.ingestLead(ctx, tx, in, pending)
		return err
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest lead: %w", err)
	}
	return res, nil
}

func (db *DB) ingestLead(ctx context.Context, tx writeTx, in LeadInput, linkPending bool) (IngestResult, error) {
	var res IngestResult
	if err := db.keyStillActive(ctx, tx, in.TeamID, in.KeyID); err != nil {
		return res, err
	}
	// One lead per person: no other instance may add the team's lead for
	// this email or phone between the search and the insert.
	if err := tx.lockTeam(ctx, in.TeamID); err != nil {
		return res, err
	}
	at := in.At.Unix()
	if in.IdemKey != "" {
		var hash []byte
		var created bool
		err := tx.QueryRowContext(ctx, `SELECT body_hash, lead_id, created FROM idempotency_keys
			WHERE team_id = ? AND key = ? AND created_at > ?`, in.TeamID, in.IdemKey, at-int64(IdempotencyTTL/time.Second)).Scan(&hash, &res.LeadID, &created)
		switch {
		case err == nil:
			if string(hash) != string(in.IdemHash[:]) {
				return IngestResult{}, refuse(ErrIdempotencyMismatch)
			}
			res.Created, res.Replayed = created, true
			return res, nil
		case !errors.Is(err, sql.ErrNoRows):
			return IngestResult{}, err
		}
	}

	// The same person: same email, else same phone, within the team.
	err := findLead(ctx, tx, in.TeamID, in.Email, in.Phone, &res.LeadID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.QueryRowContext(ctx, `INSERT INTO leads (team_id, name, email, phone, message, source, custom, key_id, created_at, updated_at,
			last_activity_at, last_message, is_test)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?5, ?10) RETURNING id`, in.TeamID, in.Name, in.Email, in.Phone, in.Message, in.Source,
			in.customJSON, nullID(in.KeyID), at, in.Test).Scan(&res.LeadID); err != nil {
			return IngestResult{}, err
		}
		res.Created = true
	case err != nil:
		return IngestResult{}, err
	default:
		if err := mergeLead(ctx, tx, res.LeadID, in); err != nil {
			return IngestResult{}, err
		}
	}

	if _, err := tx.ExecContext(ctx, `INSERT INTO submissions (team_id, lead_id, key_id, source, content_type, raw, fields, notes, message, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.TeamID, res.LeadID, nullID(in.KeyID), in.Source, in.ContentType, in.Raw, in.fieldsJSON, in.notesJSON, in.Message, at); err != nil {
		return IngestResult{}, err
	}
	if !res.Created { // a new lead has one submission: nothing to fold
		if err := foldRawBodies(ctx, tx, res.LeadID); err != nil {
			return IngestResult{}, err
		}
	}
	if in.IdemKey != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (team_id, key, body_hash, lead_id, created, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, key) DO UPDATE SET body_hash = excluded.body_hash,
			lead_id = excluded.lead_id, created = excluded.created, created_at = excluded.created_at`, in.TeamID, in.IdemKey, in.IdemHash[:], res.LeadID, res.Created, at); err != nil {
			return IngestResult{}, err
		}
	}
	if linkPending {
		if err := linkIdentifiedVisitors(ctx, tx, in.TeamID, res.LeadID, in.Email, in.Phone); err != nil {
			return IngestResult{}, err
		}
	}
	if in.VisitorID != "" {
		if err := linkVisitor(ctx, tx, in.TeamID, in.VisitorID, res.LeadID, at); err != nil {
			return IngestResult{}, err
		}
	}
	return res, nil
}

// findLead finds the team's lead with this email, else this phone. The
// literal not-empty tests let SQLite use the partial unique indexes.
// findLeadSQL is one statement; the email match comes first when both match.
const findLeadSQL = `SELECT id FROM leads WHERE team_id = ?1 AND email = ?2 AND email <> ''
	UNION ALL
	SELECT id FROM leads WHERE team_id = ?1 AND phone = ?3 AND phone <> '' LIMIT 1`

func findLead(ctx context.Context, tx writeTx, teamID int64, email, phone string, id *int64) error {
	return tx.QueryRowContext(ctx, findLeadSQL, teamID, email, phone).Scan(id)
}

// mergeLead folds a new submission into an existing lead. It only fills
// blanks: what the team already has is never overwritten, since anyone
// holding a public intake key can post with a known person's email (every
// submission is kept whole on its own row). A phone or email that belongs
// to another of the team's leads is not moved over. The submission is the
// lead's latest activity, and its message (if any) the latest message, in
// the same statement. A submission that is not a test makes the lead a
// real one: a test lead made first with a person's email must not hide
// (or let anyone remove) their enquiry.
func mergeLead(ctx context.Context, tx writeTx, leadID int64, in LeadInput) error {
	var name, email, phone, custom string
	if err := tx.QueryRowContext(ctx, "SELECT name, email, phone, custom FROM leads WHERE id = ? AND team_id = ?", leadID, in.TeamID).Scan(&name, &email, &phone, &custom); err != nil {
		return err
	}
	if name == "" {
		name = in.Name
	}
	if email == "" && in.Email != "" {
		if t, err := taken(ctx, tx, in.TeamID, "email", in.Email); err != nil {
			return err
		} else if !t {
			email = in.Email
		}
	}
	if phone == "" && in.Phone != "" {
		if t, err := taken(ctx, tx, in.TeamID, "phone", in.Phone); err != nil {
			return err
		} else if !t {
			phone = in.Phone
		}
	}
	var merged []Field
	json.Unmarshal([]byte(custom), &merged)
	merged = addNewFields(merged, in.Custom)
	_, err := tx.ExecContext(ctx, `UPDATE leads SET name = ?1, email = ?2, phone = ?3,
		message = CASE WHEN message = '' THEN ?4 ELSE message END,
		source = CASE WHEN source = '' THEN ?5 ELSE source END,
		last_message = CASE WHEN ?4 = '' THEN last_message ELSE ?4 END,
		custom = ?6, updated_at = ?7, last_activity_at = CASE WHEN last_activity_at > ?7 THEN last_activity_at ELSE ?7 END, is_test = is_test * ?10 WHERE id = ?8 AND team_id = ?9`,
		name, email, phone, in.Message, in.Source, fieldsJSON(merged), in.At.Unix(), leadID, in.TeamID, in.Test)
	return err
}

// taken reports whether another of the team's leads has this email or
// phone. Its error must reach the writer: SQLite may have rolled the whole
// transaction back, and what follows must not run outside it.
func taken(ctx context.Context, tx writeTx, teamID int64, column, value string) (bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM leads WHERE team_id = ? AND "+column+" = ? AND "+column+" <> ''", teamID, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// fieldsJSON stores fields as [[name, value], ...], which keeps their order.
func fieldsJSON(fs []Field) string {
	pairs := make([][2]string, len(fs))
	for i, f := range fs {
		pairs[i] = [2]string{f.Name, f.Value}
	}
	b, _ := json.Marshal(pairs)
	return string(b)
}

// notesJSON stores notes as a JSON list.
func notesJSON(notes []string) string {
	if len(notes) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(notes)
	return string(b)
}

func parseFields(s string) []Field {
	var pairs [][2]string
	json.Unmarshal([]byte(s), &pairs)
	fs := make([]Field, len(pairs))
	for i, p := range pairs {
		fs[i] = Field{Name: p[0], Value: p[1]}
	}
	return fs
}

// MarshalJSON keeps Field as a [name, value] pair in JSON too.
func (f Field) MarshalJSON() ([]byte, error) { return json.Marshal([2]string{f.Name, f.Value}) }

// UnmarshalJSON reads a [name, value] pair.
func (f *Field) UnmarshalJSON(b []byte) error {
	var p [2]string
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	f.Name, f.Value = p[0], p[1]
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Sweep deletes what has expired: Idempotency-Key records, sessions, key
// use older than the days shown, and the requests of keys that ended more
// than EndedKeyWindow ago, which the key index forgets too.
func (db *DB) Sweep(ctx context.Context) error {
	t := db.now()
	now, ended := t.Unix(), t.Add(-EndedKeyWindow).Unix()
	err := db.write(ctx, func(ctx context.Context, tx writeTx) error {
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{"DELETE FROM idempotency_keys WHERE created_at <= ?", now - int64(IdempotencyTTL/time.Second)},
			{"DELETE FROM web_sessions WHERE expires_at < ?", now},
			{"DELETE FROM key_usage WHERE day < ?", dayOf(t.Add(-usageRetention))},
			{`DELETE FROM key_requests WHERE key_id IN (SELECT id FROM api_keys
				WHERE (revoked_at IS NOT NULL OR expires_at IS NOT NULL) AND coalesce(revoked_at, expires_at) <= ?)`, ended},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
				return err
			}
		}
		tx.afterCommit(func() { db.keys.prune(t) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
