package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"closr/store"
)

// TestSubmissionsFoldedAndPaged: a lead keeps the raw bodies of its newest
// KeptRawBodies submissions; its submissions come a page at a time, newest
// first, with the count of all and of folded ones; another team sees none.
func TestSubmissionsFoldedAndPaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a, b := newTeam(t, db, "ana@example.com"), newTeam(t, db, "bo@example.com")
	const n = store.KeptRawBodies + 15
	var lead int64
	for i := range n {
		res, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "jo@example.com",
			Fields: []store.Field{{Name: "n", Value: fmt.Sprint(i)}}, Raw: []byte(fmt.Sprintf(`{"n":%d}`, i)), At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		lead = res.LeadID
	}
	var got []store.Submission
	var before int64
	for page := 0; ; page++ {
		p, err := db.LeadSubmissions(ctx, a.TeamID, lead, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != n || p.Folded != n-store.KeptRawBodies {
			t.Fatalf("page %d: total %d folded %d, want %d and %d", page, p.Total, p.Folded, n, n-store.KeptRawBodies)
		}
		got = append(got, p.Submissions...)
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	if len(got) != n {
		t.Fatalf("%d submissions over the pages, want %d", len(got), n)
	}
	for i, s := range got {
		want := fmt.Sprint(n - 1 - i) // newest first
		if s.Fields[0].Value != want {
			t.Fatalf("submission %d is n=%s, want %s", i, s.Fields[0].Value, want)
		}
		raw, err := db.SubmissionRaw(ctx, a.TeamID, lead, s.ID, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		if kept := i < store.KeptRawBodies; kept != (raw.Size > 0) || kept != (s.RawSize > 0) ||
			(kept && string(raw.Data) != fmt.Sprintf(`{"n":%s}`, want)) {
			t.Fatalf("submission %d (kept: %v): raw %q, size %d/%d", i, kept, raw.Data, raw.Size, s.RawSize)
		}
	}
	if raw, _ := db.SubmissionRaw(ctx, a.TeamID, lead, got[0].ID, 3); string(raw.Data) != `{"n` || raw.Size <= 3 {
		t.Fatalf("capped raw body: %q of %d", raw.Data, raw.Size)
	}
	if p, err := db.LeadSubmissions(ctx, b.TeamID, lead, 0, 10); err != nil || p.Total != 0 || len(p.Submissions) != 0 {
		t.Fatalf("another team sees %+v, %v", p, err)
	}
	if _, err := db.SubmissionRaw(ctx, b.TeamID, lead, got[0].ID, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another team's raw body: %v, want ErrNotFound", err)
	}
}

// TestLeadCustomFieldsBounded: posting one person again and again with new
// field names cannot grow the lead's merged custom fields (which every list
// and get_lead load) past MaxCustomBytes; every field stays in its
// submission and the lead keeps the first names it was sent.
func TestLeadCustomFieldsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openDB(t)
	a := newTeam(t, db, "ana@example.com")
	value := strings.Repeat("v", 500)
	var lead int64
	for i := range 60 {
		var custom []store.Field
		for j := range 100 {
			custom = append(custom, store.Field{Name: fmt.Sprintf("f%d_%d", i, j), Value: value})
		}
		res, err := db.IngestLead(ctx, store.LeadInput{TeamID: a.TeamID, Email: "jo@example.com", Custom: custom, Fields: custom,
			Raw: []byte("{}"), At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		lead = res.LeadID
	}
	l, err := db.Lead(ctx, a.TeamID, lead)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(l.Custom)
	t.Logf("60 posts of 100 new 500-byte fields: the lead's custom fields hold %d names, %d bytes", len(l.Custom), len(b))
	if len(b) > 64<<10 {
		t.Fatalf("the lead's custom fields are %d bytes, want at most %d", len(b), 64<<10)
	}
	if l.Custom[0] != (store.Field{Name: "f0_0", Value: value}) || l.Custom[1].Name != "f0_1" {
		t.Fatalf("first fields %+v, want f0_0 then f0_1", l.Custom[:2])
	}
	p, _ := db.LeadSubmissions(ctx, a.TeamID, lead, 0, 1)
	if p.Total != 60 || len(p.Submissions[0].Fields) != 100 || p.Submissions[0].Fields[99].Name != "f59_99" {
		t.Fatalf("the newest full submission lost fields: total %d, %d fields", p.Total, len(p.Submissions[1].Fields))
	}
}
