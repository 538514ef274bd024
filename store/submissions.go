package store

// Submissions: every post that created or updated a lead, read a page at a
// time, and the raw body of one on request. A lead keeps the raw bodies of
// its newest KeptRawBodies submissions only: older ones are folded (their
// raw body emptied, their parsed fields kept) in the transaction that adds
// a newer one, so the raw bytes stored per lead are bounded however often
// its person is posted.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeptRawBodies is how many of a lead's newest submissions keep their raw
// body.
const KeptRawBodies = 20

// Submission is one post that created or updated a lead, without its raw
// body (see SubmissionRaw).
type Submission struct {
	ID          int64
	Source      string
	ContentType string
	RawSize     int // bytes; 0 once folded
	Fields      []Field
	Message     string   // as intake read it; "" for submissions stored before it was kept
	Notes       []string // what the submission left out or lacked
	KeyLabel    string
	KeyPreview  string
	At          time.Time
}

// SubmissionPage is a page of a lead's submissions, newest first.
type SubmissionPage struct {
	Submissions []Submission
	Total       int   // the lead's submissions in all
	Folded      int   // how many of them had their raw body folded
	Next        int64 // the Before of the next, older page; 0 on the last
}

// The queries, which TestSubmissionQueriesUseIndexes checks on a large
// database: each walks the submissions_lead index or the primary key.
const (
	countSubmissionsSQL = `SELECT count(*), count(*) FILTER (WHERE length(raw) = 0)
		FROM submissions WHERE lead_id = ? AND team_id = ?`
	submissionsPageSQL = `SELECT s.id, s.source, s.content_type, length(s.raw), s.fields, s.message, s.notes,
		coalesce(k.label, ''), coalesce(k.preview, ''), s.created_at
		FROM submissions s LEFT JOIN api_keys k ON k.id = s.key_id
		WHERE s.lead_id = ? AND s.team_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?`
	submissionRawSQL = `SELECT substr(raw, 1, ?), length(raw), content_type FROM submissions
		WHERE id = ? AND lead_id = ? AND team_id = ?`
	foldRawSQL = `UPDATE submissions SET raw = substr(raw, 1, 0) WHERE id =
		(SELECT id FROM submissions WHERE lead_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?) AND length(raw) > 0`
)

// LeadSubmissions returns up to limit of the team's lead's submissions
// older than the submission before (0: the newest), newest first.
func (db *DB) LeadSubmissions(ctx context.Context, teamID, leadID, before int64, limit int) (SubmissionPage, error) {
	p, err := queryOne(ctx, db, func(sc scanner) (SubmissionPage, error) {
		var p SubmissionPage
		err := sc.Scan(&p.Total, &p.Folded)
		return p, err
	}, countSubmissionsSQL, leadID, teamID)
	if err != nil {
		return p, fmt.Errorf("count submissions of lead %d: %w", leadID, err)
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	// One more than asked says whether there is an older page.
	if p.Submissions, err = queryAll(ctx, db, scanSubmission, submissionsPageSQL, leadID, teamID, before, limit+1); err != nil {
		return p, fmt.Errorf("submissions of lead %d: %w", leadID, err)
	}
	if len(p.Submissions) > limit {
		p.Submissions = p.Submissions[:limit]
		p.Next = p.Submissions[limit-1].ID
	}
	return p, nil
}

func scanSubmission(sc scanner) (Submission, error) {
	var s Submission
	var fields, notes string
	var at int64
	err := sc.Scan(&s.ID, &s.Source, &s.ContentType, &s.RawSize, &fields, &s.Message, &notes, &s.KeyLabel, &s.KeyPreview, &at)
	s.Fields, s.At = parseFields(fields), time.Unix(at, 0).UTC()
	json.Unmarshal([]byte(notes), &s.Notes)
	return s, err
}

// RawBody is the start of one submission's raw body.
type RawBody struct {
	Data        []byte // at most the max asked for
	Size        int    // the whole body's size; 0 once folded
	ContentType string
}

// SubmissionRaw returns the first max bytes of the raw body of one of the
// team's lead's submissions; another team's, or another lead's, is
// ErrNotFound.
func (db *DB) SubmissionRaw(ctx context.Context, teamID, leadID, id int64, max int) (RawBody, error) {
	b, err := queryOne(ctx, db, func(sc scanner) (RawBody, error) {
		var b RawBody
		err := sc.Scan(&b.Data, &b.Size, &b.ContentType)
		return b, err
	}, submissionRawSQL, max, id, leadID, teamID)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("submission %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("submission %d: %w", id, err)
	}
	return b, nil
}

// foldRawBodies empties the raw body of the lead's submission that has
// just fallen out of the newest KeptRawBodies. Each new submission pushes
// exactly one out, so this costs a walk of KeptRawBodies index entries,
// however many submissions the lead has.
func foldRawBodies(ctx context.Context, tx writeTx, leadID int64) error {
	_, err := tx.ExecContext(ctx, foldRawSQL, leadID, KeptRawBodies)
	return err
}
