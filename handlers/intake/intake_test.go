package intake_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"mime"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"closr/handlers/intake"
	"closr/store"
	"closr/store/storetest"
)

// lead is what a submission must become.
type lead struct {
	Name, Email, Phone, Message, Source string
	Custom                              map[string]string // a subset of the lead's custom fields
}

// sourceCases are the payload families: one fixture file and one row each.
// A fixture is "Content-Type: ...", a blank line, then the body as the
// provider sends it (multipart line ends are written as \n and sent as
// \r\n). transport is the source the endpoint would give the lead from
// how it arrived ("API" when empty); a recognised provider's name wins.
// Each row says where its shape comes from.
var sourceCases = []struct {
	fixture, transport string
	want               lead
}{
	// Zapier's Facebook Lead Ads trigger output (full_name, phone_number,
	// ad_name…) posted by a "Webhooks by Zapier" POST.
	{"facebook-lead-ads-zapier", "", lead{"Jamie Buyer", "jamie@example.com", "+15551234567", "", "Facebook Lead Ads", map[string]string{"ad_name": "Spring open house"}}},
	// Calendly via Zapier: questions_and_answers as the invitee resource has them.
	{"calendly-zapier", "", lead{"Lee Chen", "lee@example.com", "+442079460958", "", "API", map[string]string{"Budget": "$500k"}}},
	// A minimal invitee.created envelope: event + payload.
	{"calendly-webhook-nested", "", lead{"Sam Ortiz", "sam@example.com", "", "", "Calendly", map[string]string{"Event": "30 Minute Viewing"}}},
	// Calendly v2 invitee.created webhook, as in Calendly's API reference
	// (developer.calendly.com/api-docs, webhook payload) and its example in
	// "see how webhook payloads change when invitees reschedule events".
	{"calendly-invitee-created", "", lead{"Riley Park", "riley.park@example.com", "+12065550166",
		"What is your budget?: Around $600k\nPlease share anything that will help prepare for our meeting.: We'd love to see the Oak St listing.",
		"Calendly", map[string]string{"Event": "Home tour", "Location": "12 Oak St", "utm_source": "instagram", "Time zone": "America/Los_Angeles"}}},
	// The same, with no text reminder number and the phone asked as a booking question.
	{"calendly-phone-question", "", lead{"Dana Cole", "dana.cole@example.com", "+12065550133", "", "Calendly", map[string]string{"Event": "Listing consultation"}}},
	// A plain HTML form with labels for names.
	{"form-labels", "", lead{"Ana Lee", "ana.lee@example.com", "+15550100199", "", "API", map[string]string{"Property": "12 Oak St"}}},
	{"camelcase", "", lead{"Bo Ng", "bo@example.com", "", "Is it still for sale?", "Open house", nil}},
	{"multipart-form", "", lead{"Mia Park", "mia@example.com", "", "Call after 5", "API", nil}},
	// fetch() with a JSON string body, sent as text/plain to avoid a preflight.
	{"text-plain-json", "", lead{"Tia", "", "+15552223333", "", "API", nil}},
	// Webflow form_submission webhook
	// (https://developers.webflow.com/data/reference/webhooks/events/form-submission).
	{"webflow-webhook", "", lead{"Riley Stone", "riley@example.com", "+15550100123", "Tour on Saturday?", "Webflow",
		map[string]string{"Form": "Contact Form"}}},
	// The same with First Name / Last Name fields and Webflow's default
	// textarea, named "field".
	{"webflow-first-last", "", lead{"Morgan Blake", "morgan.blake@example.com", "+12065550177", "We'd like a valuation of our condo.", "Webflow",
		map[string]string{"Form": "Contact Us"}}},
	// Webflow's older form webhook body (name, site, data, d, _id).
	{"webflow-webhook-older", "", lead{"Casey Moor", "casey@example.com", "", "", "Webflow", map[string]string{"Form": "Contact Form"}}},
	// Typeform form_response webhook, shaped as Typeform's example payload
	// (https://www.typeform.com/developers/webhooks/example-payload/).
	{"typeform", "", lead{"Jamie Rivera", "jamie.rivera@example.com", "+12065550142", "Three bedrooms, a yard for the dog, close to a good school.", "Typeform",
		map[string]string{"Are you buying or selling?": "Buying", "Which neighbourhoods do you like?": "Green Lake, Ballard, Fremont",
			"What is your budget?": "650000", "Are you pre-approved for a mortgage?": "Yes", "utm_source": "facebook", "Form": "Find your next home"}}},
	// Jotform webhook: multipart with rawRequest and pretty, fields as in a
	// captured delivery (tuanhuy22711/jotform-bitrix24-integration,
	// logs/app.log; n8n-io/n8n JotFormTrigger.node.ts reads rawRequest alike).
	{"jotform", "", lead{"Noor Haddad", "noor.haddad@example.com", "+12065550143", "Can we see 12 Oak St this weekend?", "Jotform",
		map[string]string{"I am": "Buying", "Form": "Contact Sunset Realty"}}},
	// Gravity Forms Webhooks add-on, Request Body "All Fields": the entry
	// object (https://docs.gravityforms.com/entry-object/).
	{"gravity-forms-all-fields", "", lead{"Sam Ortiz", "sam.ortiz@example.com", "+12065550199", "", "Gravity Forms",
		map[string]string{"Field 4": "Looking for a 3-bed near Green Lake, moving in March.", "Field 5": "Buying, Renting out", "Page": "https://sunsetrealty.example/contact/"}}},
	// The same add-on with "Select Fields", keyed by the labels Gravity
	// Forms offers (https://docs.gravityforms.com/triggering-webhooks-form-submissions/).
	{"gravity-forms-select-fields", "", lead{"Kai Silva", "kai.silva@example.com", "+12065550198", "Looking for a 3-bed near Green Lake, moving in March.", "Gravity Forms", nil}},
	// HubSpot forms API v3 submission body (https://developers.hubspot.com/docs/api-reference/legacy/marketing/forms/v3-legacy/submit-data-unauthenticated).
	{"hubspot", "", lead{"Lee Chen", "lee.chen@example.com", "+12065550123", "Is 12 Oak St still available?", "HubSpot",
		map[string]string{"zip": "98103", "Page": "https://sunsetrealty.example/listings/12-oak", "Page title": "12 Oak St"}}},
	// Google Ads lead form webhook (https://developers.google.com/google-ads/webhook/docs/implementation),
	// values as Google's "Send test data" sends them.
	{"google-ads", "", lead{"Jordan Miles", "jordan.miles@example.com", "+16505550123", "", "Google Ads",
		map[string]string{"Postal Code": "98103", "What is your price range?": "$700k to $800k", "Campaign ID": "281489216452814"}}},
	// Wix Automations "Send via webhook", all keys and values: the shape
	// logged by public Wix Velo and webhook-handler code (formName,
	// submissions [{label, value}], "field:" keys, contact…) under data.
	{"wix", "", lead{"Casey Nguyen", "casey.nguyen@example.com", "+12065550155", "Looking for a 2-bed condo downtown.", "Wix",
		map[string]string{"When do you plan to move?": "Within 3 months", "Form": "Contact Us"}}},
	// Elementor Pro form Webhook action, Advanced Data off: urlencoded
	// get_formatted_data(true) plus form_id and form_name
	// (proelements/proelements modules/forms/actions/webhook.php, classes/form-record.php).
	{"elementor", "", lead{"Avery Brooks", "avery.brooks@example.com", "+12065550111", "Please call me about the open house.", "Elementor",
		map[string]string{"budget": "$550k", "Form": "Open house form", "Page": "https://sunsetrealty.example/open-house/"}}},
	// Contact Form 7 through the CF7 to Webhook plugin: one JSON key per
	// form tag (mariovalney/cf7-to-zapier modules/cf7/class-module-cf7.php).
	{"contact-form-7", "", lead{"Taylor Reed", "taylor.reed@example.com", "+12065550188", "Could we view 7 Elm Ave on Friday?", "Contact Form 7",
		map[string]string{"your-subject": "Viewing request"}}},
	// A form written for Formspree (_replyto, _subject, _next, _gotcha:
	// asm-products/formspree README, as ported in asvny/formspree) with its
	// action pointed at Closr.
	{"formspree-style-form", "Website form", lead{"Quinn Harper", "quinn.harper@example.com", "+12065550122", "Interested in the Ballard townhouse.", "Website form", nil}},
	// A Zillow or realtor.com lead email parsed by Zapier's Email Parser and
	// posted by "Webhooks by Zapier": the keys are the names the agent gives
	// the parsed parts; subject and from come with every parsed email.
	{"zillow-zapier-email-parser", "Zapier", lead{"Jesse Wong", "jesse.wong@example.com", "+12065550144", "I would like to schedule a tour.", "Zillow",
		map[string]string{"property": "12 Oak St, Seattle, WA 98103"}}},
	{"realtor-zapier-email-parser", "Zapier", lead{"Pat Morgan", "pat.morgan@example.com", "+12065550181", "Is this home still available?", "Realtor.com",
		map[string]string{"property": "7 Elm Ave, Seattle, WA 98107"}}},
	// No field named like an email or phone: they are recognised by value.
	{"recognised-by-value", "", lead{"Robin Diaz", "robin.diaz@example.com", "+12065550170", "", "API",
		map[string]string{"Listing": "12 Oak St", "Move-in": "2026-03-01"}}},
	// Content but no email or phone: kept, marked as needing contact details.
	{"needs-contact", "", lead{"Alex Kim", "", "", "Please send me the brochure for 12 Oak St.", "API", map[string]string{"source_url": "https://sunsetrealty.example/listings/12-oak"}}},
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
	db, err := store.Open(context.Background(), storetest.Addr(t))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.OpenRaw(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close(); db.Close() })
	agent, err := db.CreateTeamWithOwner(context.Background(), "Sunset Realty", store.NewAgent{Name: "Ana", Email: "ana@example.com", PasswordHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := db.CreateAPIKey(context.Background(), agent.TeamID, agent.ID, "Site form", store.AccessIntake, 0)
	if err != nil {
		t.Fatal(err)
	}
	return world{db: db, raw: raw, in: intake.New(db, "US"), key: key}
}

// submit reads a body and submits it as the inbound endpoint does.
func (w world) submit(t *testing.T, ctype string, body []byte, idem string) (intake.Result, error) {
	t.Helper()
	return w.submitVia(t, ctype, body, idem, "API")
}

func (w world) submitVia(t *testing.T, ctype string, body []byte, idem, transport string) (intake.Result, error) {
	t.Helper()
	p, raw, err := intake.Read(ctype, bytes.NewReader(body))
	if err != nil {
		return intake.Result{}, err
	}
	return w.in.Submit(context.Background(), intake.Submission{Key: w.key, Payload: p, ContentType: ctype, Raw: raw,
		IdempotencyKey: idem, Source: transport, At: time.Now()})
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

// stored reads back the lead and its submissions, newest first.
func (w world) stored(t *testing.T, id int64) (store.Lead, []store.Submission) {
	t.Helper()
	l, err := w.db.Lead(context.Background(), w.key.TeamID, id)
	if err != nil {
		t.Fatal(err)
	}
	page, err := w.db.LeadSubmissions(context.Background(), w.key.TeamID, id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return l, page.Submissions
}

// rawOf is a submission's stored raw body.
func (w world) rawOf(t *testing.T, leadID int64, sub store.Submission) string {
	t.Helper()
	b, err := w.db.SubmissionRaw(context.Background(), w.key.TeamID, leadID, sub.ID, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return string(b.Data)
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
			transport := tc.transport
			if transport == "" {
				transport = "API"
			}
			res, err := w.submitVia(t, ctype, body, "", transport)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Created || res.LeadID == 0 {
				t.Fatalf("result %+v, want a new lead", res)
			}
			l, subs := w.stored(t, res.LeadID)
			checkLead(t, l, tc.want)
			mt, _, _ := mime.ParseMediaType(ctype)
			if len(subs) != 1 || w.rawOf(t, res.LeadID, subs[0]) != string(intake.RedactBytes(body)) || subs[0].ContentType != mt {
				t.Fatalf("submission = %+v", subs)
			}
			if want := l.NeedsContact(); want != slices.Contains(res.Warnings, intake.NoContactWarning) || !slices.Equal(res.Warnings, subs[0].Notes) {
				t.Fatalf("warnings %q, notes %q for a lead that needs contact: %v", res.Warnings, subs[0].Notes, want)
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
		{name: "a name alone is kept, needing contact details", body: `{"name":"No Contact"}`, want: lead{Name: "No Contact", Source: "API"}},
		{name: "nothing about the person is refused", body: `{}`, wantKind: intake.Invalid, wantErr: map[string]bool{"email": true, "phone": true}},
		{name: "a source and form settings are nothing about the person", body: `{"source":"Open house","_subject":"New lead","api_key":"` + key + `"}`,
			wantKind: intake.Invalid, wantErr: map[string]bool{"email": true, "phone": true}},
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
			if raw := w.rawOf(t, res.LeadID, subs[0]); strings.Contains(raw, key) {
				t.Fatalf("the raw body kept the key: %s", raw)
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

// TestNeedsContactLeadsNeverMerge: leads with neither email nor phone are
// never matched to another lead, nor another to them, so they stay apart
// and a later post with contact details starts a lead of its own.
func TestNeedsContactLeadsNeverMerge(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var ids []int64
	for _, body := range []string{`{"name":"Alex Kim","message":"Brochure please"}`, `{"name":"Alex Kim","message":"Brochure please"}`, `{"name":"Alex Kim","email":"alex@example.com"}`} {
		res, err := w.submit(t, "application/json", []byte(body), "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created {
			t.Fatalf("%s joined lead %d", body, res.LeadID)
		}
		ids = append(ids, res.LeadID)
	}
	first, _ := w.stored(t, ids[0])
	last, _ := w.stored(t, ids[2])
	if !first.NeedsContact() || last.NeedsContact() || first.Email != "" {
		t.Fatalf("first %+v, last %+v", first, last)
	}
	if n := w.count(t, "SELECT count(*) FROM leads"); n != 3 {
		t.Fatalf("%d leads, want 3", n)
	}
}

// TestProviderKeepsWhatItCannotRead: a provider cannot fix what a person
// typed, and gives up after its retries: an unreadable phone from a
// provider is kept as sent with a warning, where a direct API call is told
// to fix it.
func TestProviderKeepsWhatItCannotRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	webflow := `{"triggerType":"form_submission","payload":{"name":"Contact","data":{"Name":"Lou","Email":"lou@example.com","Phone":"call me after 5"}}}`
	res, err := w.submit(t, "application/json", []byte(webflow), "")
	if err != nil {
		t.Fatal(err)
	}
	l, subs := w.stored(t, res.LeadID)
	checkLead(t, l, lead{Name: "Lou", Email: "lou@example.com", Source: "Webflow", Custom: map[string]string{"phone (as sent)": "call me after 5"}})
	if len(subs[0].Notes) != 1 || !strings.Contains(subs[0].Notes[0], "not a phone number") {
		t.Fatalf("notes %q", subs[0].Notes)
	}
	var ie *intake.Error
	if _, err := w.submit(t, "application/json", []byte(`{"name":"Lou","email":"lou2@example.com","phone":"call me after 5"}`), ""); !errors.As(err, &ie) || ie.Fields["phone"] == "" {
		t.Fatalf("a direct post with a bad phone: %v", err)
	}
}

// TestProviderKey: Google Ads sends the key its advertiser typed as
// google_key; it authenticates the post and is kept nowhere.
func TestProviderKey(t *testing.T) {
	t.Parallel()
	ctype, body := fixture(t, "google-ads")
	p, _, err := intake.Read(ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.APIKey != "closr_"+strings.Repeat("G", 43) || p.Source != "Google Ads" {
		t.Fatalf("key %q, source %q", p.APIKey, p.Source)
	}
	w := newWorld(t)
	res, err := w.submit(t, ctype, body, "")
	if err != nil {
		t.Fatal(err)
	}
	l, subs := w.stored(t, res.LeadID)
	for _, f := range append(l.Custom, subs[0].Fields...) {
		if strings.Contains(f.Name+f.Value, "GGGG") {
			t.Fatalf("the key was kept in %q=%q", f.Name, f.Value)
		}
	}
}

// TestRecognitionRules: what is taken for an email or a phone when no
// field is named so, and what is not.
func TestRecognitionRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		form         string // urlencoded
		email, phone string
		custom       map[string]string
	}{
		{"Name=Ana&Reach+me=ana%40example.com", "ana@example.com", "", nil},
		{"Name=Bo&Best+phone=%2B44+20+7946+0958", "", "+442079460958", nil},
		{"Name=Cy&Contact=%28206%29+555-0101&Price=%24500%2C000&Zip=98103&Moving=2026-03-01", "", "+12065550101",
			map[string]string{"Price": "$500,000", "Zip": "98103", "Moving": "2026-03-01"}},
		{"Name=Di&Ref=1764169451000&Agent=Ana+%3Cana%40sunset.example%3E", "", "", map[string]string{"Ref": "1764169451000", "Agent": "Ana <ana@sunset.example>"}},
		{"Name=Ed&First-time+buyer%3F=Yes&Company+name=Acme&Your+e-mail=ed%40example.com", "ed@example.com", "",
			map[string]string{"First-time buyer?": "Yes", "Company name": "Acme"}},
	}
	for _, tt := range tests {
		res, err := w.submit(t, "application/x-www-form-urlencoded", []byte(tt.form), "")
		if err != nil {
			t.Fatalf("%s: %v", tt.form, err)
		}
		l, _ := w.stored(t, res.LeadID)
		if l.Email != tt.email || l.Phone != tt.phone || l.Name == "" || l.Name == "Yes" || l.Name == "Acme" {
			t.Fatalf("%s: lead %q %q %q", tt.form, l.Name, l.Email, l.Phone)
		}
		checkLead(t, l, lead{Name: l.Name, Email: tt.email, Phone: tt.phone, Source: "API", Custom: tt.custom})
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// multipartWithFile is a form's multipart body around a file part of size
// bytes, streamed, never held in memory.
func multipartWithFile(fields string, size int64) io.Reader {
	const b = "----closrtest"
	return io.MultiReader(strings.NewReader(fields+
		"--"+b+"\r\nContent-Disposition: form-data; name=\"letter\"; filename=\"pre-approval.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"),
		io.LimitReader(zeros{}, size),
		strings.NewReader("\r\n--"+b+"--\r\n"))
}

func part(name, value string) string {
	return "------closrtest\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

// TestAttachmentsAreReadPast: a form with a file delivers its lead; the
// file is read past without being held in memory or kept, and a note says
// so. The 64 KiB limit is on the fields, not on the files.
func TestAttachmentsAreReadPast(t *testing.T) {
	const ctype = "multipart/form-data; boundary=----closrtest"
	const size = 20 << 20
	fields := part("name", "Mia Park") + part("email", "mia@example.com")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, raw, err := intake.Read(ctype, multipartWithFile(fields, size))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/8 {
		t.Fatalf("reading a %d-byte file allocated %d bytes: it was buffered", size, grew)
	}
	want := `File "pre-approval.pdf" of 20971520 bytes was left out`
	if len(p.Notes) != 1 || !strings.HasPrefix(p.Notes[0], want) {
		t.Fatalf("notes %q, want %q", p.Notes, want)
	}
	if len(raw) > 1024 || !bytes.Contains(raw, []byte(want)) || !bytes.Contains(raw, []byte("mia@example.com")) {
		t.Fatalf("raw kept %d bytes:\n%.600s", len(raw), raw)
	}
	w := newWorld(t)
	res, err := w.in.Submit(context.Background(), intake.Submission{Key: w.key, Payload: p, ContentType: ctype, Raw: raw, At: time.Now()})
	if err != nil || !slices.Equal(res.Warnings, p.Notes) {
		t.Fatalf("submit: %+v %v", res, err)
	}
	l, subs := w.stored(t, res.LeadID)
	if l.Email != "mia@example.com" || !slices.Equal(subs[0].Notes, p.Notes) {
		t.Fatalf("lead %+v, notes %q", l, subs[0].Notes)
	}

	// Fields beyond 64 KiB are refused, however small the body's files.
	_, _, err = intake.Read(ctype, multipartWithFile(part("message", strings.Repeat("a", intake.MaxBody)), 10))
	var ie *intake.Error
	if !errors.As(err, &ie) || ie.Kind != intake.TooLarge {
		t.Fatalf("65 KiB of fields: %v", err)
	}
}

// TestReadFailureIsNotTheSenders: a failing request body (a size cap, a
// client gone) comes back as that failure, not as a malformed body.
func TestReadFailureIsNotTheSenders(t *testing.T) {
	t.Parallel()
	cut := errors.New("request body too large")
	for _, ctype := range []string{"multipart/form-data; boundary=----closrtest", "application/json"} {
		_, _, err := intake.Read(ctype, io.MultiReader(strings.NewReader(part("name", "Mia")), iotest.ErrReader(cut)))
		var ie *intake.Error
		if !errors.Is(err, cut) || errors.As(err, &ie) {
			t.Fatalf("%s: %v", ctype, err)
		}
	}
}

// TestOddProviderPayloadKept: a payload that looks like a provider's but
// does not read as its documented shape is kept with its fields as parsed.
func TestOddProviderPayloadKept(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	body := `{"event_type": "form_response", "form_response": {"answers": "not a list", "email": "odd@example.com"}}`
	res, err := w.submit(t, "application/json", []byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := w.stored(t, res.LeadID)
	checkLead(t, l, lead{Email: "odd@example.com", Source: "Typeform"})
}
