package intake_test

import (
	"context"
	"database/sql"
	"errors"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"closr/handlers/intake"
	"closr/store"
)

// lead is what a submission must become.
type lead struct {
	Name, Email, Phone, Message, Source string
	Custom                              map[string]string // a subset of the lead's custom fields
}

// sourceCases are the payload families: one fixture file and one row each.
// A fixture is "Content-Type: ...", a blank line, then the body as the
// provider sends it (multipart line ends are written as \n and sent as
// \r\n).
var sourceCases = []struct {
	fixture string
	want    lead
}{
	{"facebook-lead-ads-zapier", lead{"Jamie Buyer", "jamie@example.com", "+15551234567", "", "API", map[string]string{"ad_name": "Spring open house"}}},
	{"calendly-zapier", lead{"Lee Chen", "lee@example.com", "+442079460958", "", "API", map[string]string{"Budget": "$500k"}}},
	{"calendly-webhook-nested", lead{"Sam Ortiz", "sam@example.com", "", "", "API", map[string]string{"payload.scheduled_event.name": "30 Minute Viewing"}}},
	{"form-labels", lead{"Ana Lee", "ana.lee@example.com", "+15550100199", "", "API", map[string]string{"Property": "12 Oak St"}}},
	{"camelcase", lead{"Bo Ng", "bo@example.com", "", "Is it still for sale?", "Open house", nil}},
	{"multipart-form", lead{"Mia Park", "mia@example.com", "", "Call after 5", "API", nil}},
	{"text-plain-json", lead{"Tia", "", "+15552223333", "", "API", nil}},
	{"webflow-webhook", lead{"Riley Stone", "riley@example.com", "+15550100123", "Tour on Saturday?", "API",
		map[string]string{"payload.name": "Contact Form", "triggerType": "form_submission"}}},
	{"webflow-webhook-older", lead{"Casey Moor", "casey@example.com", "", "", "API", map[string]string{"name": "Contact Form"}}},
}

// fixture reads testdata/sources/name.txt as a content type and a body.
func fixture(t *testing.T, name string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sources", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(b), "\n\n")
	ctype, found := strings.CutPrefix(head, "Content-Type: ")
	if !ok || !found {
		t.Fatalf("%s: want a Content-Type line, a blank line and the body", name)
	}
	body = strings.TrimSuffix(body, "\n")
	if strings.HasPrefix(ctype, "multipart/") {
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	return ctype, []byte(body)
}

// world is a real store with one team and its key, and intake over it.
type world struct {
	db  *store.DB
	raw *sql.DB // the same file, for checks the store has no query for
	in  *intake.Intake
	key store.APIKey
}

func newWorld(t *testing.T) world {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "closr.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close(); db.Close() })
	agent, err := db.CreateTeamWithOwner(context.Background(), "Sunset Realty", store.NewAgent{Name: "Ana", Email: "ana@example.com", PasswordHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := db.CreateAPIKey(context.Background(), agent.TeamID, agent.ID, "Site form", store.AccessIntake)
	if err != nil {
		t.Fatal(err)
	}
	return world{db: db, raw: raw, in: intake.New(db, "US"), key: key}
}

// submit parses a body and submits it as the inbound endpoint does.
func (w world) submit(t *testing.T, ctype string, body []byte, idem string) (intake.Result, error) {
	t.Helper()
	p, err := intake.Parse(ctype, body)
	if err != nil {
		return intake.Result{}, err
	}
	return w.in.Submit(context.Background(), intake.Submission{Key: w.key, Payload: p, ContentType: ctype, Raw: body,
		IdempotencyKey: idem, Source: "API", At: time.Now()})
}

// count runs a count(*) query.
func (w world) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stored reads back the lead and its submissions.
func (w world) stored(t *testing.T, id int64) (store.Lead, []store.Submission) {
	t.Helper()
	l, subs, err := w.db.Lead(context.Background(), w.key.TeamID, id)
	if err != nil {
		t.Fatal(err)
	}
	return l, subs
}

func checkLead(t *testing.T, got store.Lead, want lead) {
	t.Helper()
	if got.Name != want.Name || got.Email != want.Email || got.Phone != want.Phone || got.Message != want.Message || got.Source != want.Source {
		t.Fatalf("lead = %q %q %q %q %q\nwant   %q %q %q %q %q", got.Name, got.Email, got.Phone, got.Message, got.Source,
			want.Name, want.Email, want.Phone, want.Message, want.Source)
	}
	custom := map[string]string{}
	for _, f := range got.Custom {
		custom[f.Name] = f.Value
	}
	for k, v := range want.Custom {
		if custom[k] != v {
			t.Fatalf("custom %q = %q, want %q (all: %v)", k, custom[k], v, custom)
		}
	}
}

// TestSourcesBecomeLeads: each provider's payload, as it sends it, becomes
// the lead it describes, with the raw body kept on its submission.
func TestSourcesBecomeLeads(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range sourceCases {
		t.Run(tc.fixture, func(t *testing.T) {
			ctype, body := fixture(t, tc.fixture)
			res, err := w.submit(t, ctype, body, "")
			if err != nil {
				t.Fatal(err)
			}
			if !res.Created || res.LeadID == 0 {
				t.Fatalf("result %+v, want a new lead", res)
			}
			l, subs := w.stored(t, res.LeadID)
			checkLead(t, l, tc.want)
			mt, _, _ := mime.ParseMediaType(ctype)
			if len(subs) != 1 || string(subs[0].Raw) != string(body) || subs[0].ContentType != mt {
				t.Fatalf("submission = %+v", subs)
			}
		})
	}
}

// TestSubmitRules: the rules every caller shares, submissions in, leads or
// refusals out.
func TestSubmitRules(t *testing.T) {
	t.Parallel()
	const key = "closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name     string
		body     string // JSON
		via      string
		wantKind intake.Kind // 0: stored
		wantErr  map[string]bool
		want     lead
	}{
		{name: "email or phone is required", body: `{"name":"No Contact"}`, wantKind: intake.Invalid, wantErr: map[string]bool{"email": true, "phone": true}},
		{name: "a bad email says so", body: `{"email":"not-an-email"}`, wantKind: intake.Invalid, wantErr: map[string]bool{"email": true}},
		{name: "a bad phone says so", body: `{"phone":"12"}`, wantKind: intake.Invalid, wantErr: map[string]bool{"phone": true}},
		{name: "email lower-cased, phone E.164", body: `{"email":"Jo@Example.COM","phone":"(555) 123-4567"}`,
			want: lead{Email: "jo@example.com", Phone: "+15551234567", Source: "API"}},
		{name: "via MCP without a source", body: `{"email":"m@example.com"}`, via: "MCP",
			want: lead{Email: "m@example.com", Source: "MCP"}},
		{name: "via MCP keeps the given source", body: `{"email":"r@example.com","source":"Referral"}`, via: "MCP",
			want: lead{Email: "r@example.com", Source: "Referral (via MCP)"}},
		{name: "keys are redacted from every field", body: `{"email":"k@example.com","ref":"` + key + `","data":{"api_key2":"` + key + `"}}`,
			want: lead{Email: "k@example.com", Source: "API", Custom: map[string]string{"ref": "closr_[redacted]", "data.api_key2": "closr_[redacted]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p, err := intake.Parse("application/json", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := w.in.Submit(context.Background(), intake.Submission{Key: w.key, Payload: p, ContentType: "application/json",
				Raw: []byte(tt.body), Source: map[bool]string{true: "", false: "API"}[tt.via != ""], Via: tt.via, At: time.Now()})
			if tt.wantKind != 0 {
				var ie *intake.Error
				if !errors.As(err, &ie) || ie.Kind != tt.wantKind {
					t.Fatalf("err = %v, want kind %d", err, tt.wantKind)
				}
				for f := range tt.wantErr {
					if ie.Fields[f] == "" {
						t.Fatalf("no message for %s in %v", f, ie.Fields)
					}
				}
				if w.count(t, "SELECT count(*) FROM leads") != 0 {
					t.Fatal("a refused submission was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l, subs := w.stored(t, res.LeadID)
			checkLead(t, l, tt.want)
			if strings.Contains(string(subs[0].Raw), key) {
				t.Fatalf("the raw body kept the key: %s", subs[0].Raw)
			}
		})
	}
}

// TestSamePersonOneLead: a second submission with the same email (any
// case) or phone joins the first lead and fills its blanks.
func TestSamePersonOneLead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	first, err := w.submit(t, "application/json", []byte(`{"email":"jo@example.com"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"email":"JO@example.com","name":"Jo Lane","phone":"555-123-4567"}`, `{"phone":"+1 555 123 4567","message":"Still there?"}`} {
		res, err := w.submit(t, "application/json", []byte(body), "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Created || res.LeadID != first.LeadID {
			t.Fatalf("%s: result %+v, want lead %d updated", body, res, first.LeadID)
		}
	}
	l, subs := w.stored(t, first.LeadID)
	checkLead(t, l, lead{Name: "Jo Lane", Email: "jo@example.com", Phone: "+15551234567", Message: "Still there?", Source: "API"})
	if len(subs) != 3 {
		t.Fatalf("%d submissions, want 3", len(subs))
	}
}

// TestIdempotencyAndHoneypot: a repeat with the same idempotency key and
// body stores nothing; the same key with another body is refused; a
// filled honeypot is answered as stored and stores nothing.
func TestIdempotencyAndHoneypot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	body := []byte(`{"email":"i@example.com"}`)
	a, err := w.submit(t, "application/json", body, "retry-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.submit(t, "application/json", body, "retry-1")
	if err != nil || !b.Replayed || b.LeadID != a.LeadID || !b.Created {
		t.Fatalf("replay = %+v, %v; want the first answer replayed", b, err)
	}
	_, err = w.submit(t, "application/json", []byte(`{"email":"other@example.com"}`), "retry-1")
	var ie *intake.Error
	if !errors.As(err, &ie) || ie.Kind != intake.IdempotencyReused {
		t.Fatalf("reused key with another body: %v", err)
	}
	_, err = w.submit(t, "application/json", body, strings.Repeat("k", 256))
	if !errors.As(err, &ie) || ie.Fields["Idempotency-Key"] == "" {
		t.Fatalf("over-long idempotency key: %v", err)
	}
	res, err := w.submit(t, "application/x-www-form-urlencoded", []byte("email=bot%40example.com&_gotcha=spam"), "")
	if err != nil || !res.Honeypot || !res.Created {
		t.Fatalf("honeypot = %+v, %v", res, err)
	}
	if n := w.count(t, "SELECT count(*) FROM leads"); n != 1 {
		t.Fatalf("%d leads stored, want only the first", n)
	}
	_, subs := w.stored(t, a.LeadID)
	if len(subs) != 1 {
		t.Fatalf("%d submissions, want 1", len(subs))
	}
}

// TestNamedPayload: MCP's named details win over free-form fields of the
// same meaning, and too many fields are refused.
func TestNamedPayload(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p, err := intake.Named("Ana Lee", "ana@example.com", "", "", "", map[string]string{"email": "other@example.com", "budget": "$600k"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.in.Submit(context.Background(), intake.Submission{Key: w.key, Payload: p, Raw: []byte("{}"), Via: "MCP", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := w.stored(t, res.LeadID)
	checkLead(t, l, lead{Name: "Ana Lee", Email: "ana@example.com", Source: "MCP", Custom: map[string]string{"budget": "$600k", "email": "other@example.com"}})
	many := map[string]string{}
	for i := range 201 {
		many[strings.Repeat("f", 1+i%50)+string(rune('a'+i/50))] = "v"
	}
	var ie *intake.Error
	if _, err := intake.Named("", "x@example.com", "", "", "", many); !errors.As(err, &ie) || ie.Kind != intake.Invalid {
		t.Fatalf("201 fields: %v", err)
	}
}

// TestIdentify: the tracker's identify call is normalised as a lead is,
// refused when it says nothing usable.
func TestIdentify(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	id := intake.Identity{Key: w.key, VisitorID: "v-0123456789abcdef", At: time.Now()}
	if err := w.in.Identify(ctx, id); !errors.Is(err, intake.ErrNoIdentity) {
		t.Fatalf("no email or phone: %v", err)
	}
	id.Email = "nope"
	var ie *intake.Error
	if err := w.in.Identify(ctx, id); !errors.As(err, &ie) || ie.Fields["email"] == "" {
		t.Fatalf("bad email: %v", err)
	}
	res, err := w.submit(t, "application/json", []byte(`{"email":"jo@example.com"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	id.Email = "JO@Example.com"
	if err := w.in.Identify(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, "SELECT count(*) FROM visitors WHERE vid = ? AND lead_id = ?", id.VisitorID, res.LeadID); n != 1 {
		t.Fatalf("the identified visitor is not linked to lead %d", res.LeadID)
	}
}
