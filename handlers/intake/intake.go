// Package intake owns the rules of a lead: it turns a submission (a body
// and its content type, or named fields) and the key that sent it into a
// stored lead. It parses, maps field names to lead details, validates and
// normalises them (E.164 phones), redacts Closr keys from everything kept,
// and hands the result to the store, which dedupes and merges in one
// transaction. It knows no HTTP: the inbound endpoint, the MCP create_lead
// tool and the tracker's identify call each read their request, call it,
// and write their answer.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"closr/store"
)

// Store is what intake needs of storage.
type Store interface {
	IngestLead(ctx context.Context, in store.LeadInput) (store.IngestResult, error)
	Identify(ctx context.Context, in store.IdentifyInput) (int64, error)
}

// Intake applies the lead rules for one server.
type Intake struct {
	store  Store
	region string // ISO 3166 region for phones without a country code
}

// New returns an Intake storing into st, reading phone numbers without a
// country code as numbers of region ("" means US).
func New(st Store, region string) *Intake {
	if region == "" {
		region = "US"
	}
	return &Intake{store: st, region: strings.ToUpper(region)}
}

// maxIdempotencyKey bounds an idempotency key's length.
const maxIdempotencyKey = 255

// Submission is one lead as it arrived.
type Submission struct {
	Key         store.APIKey // the key that sent it
	Payload     Payload
	ContentType string
	Raw         []byte // the body as received, kept (redacted) with the submission
	// IdempotencyKey makes a retry with the same Raw store nothing new.
	IdempotencyKey string
	// Source names the lead's origin when the payload names none and is
	// no provider's (e.g. "Zapier", "Website form").
	Source string
	// Via, when set, is always said in the source: "MCP" when the payload
	// names none, else "Referral (via MCP)".
	Via      string
	TouchKey bool // also move the key's last-used time
	At       time.Time
}

// Result says what became of a submission.
type Result struct {
	store.IngestResult
	// Honeypot: a bot filled the form's trap field; nothing was stored,
	// and the sender is answered as if it had been.
	Honeypot bool
	// Warnings say what the stored lead lacks or what was left out; they
	// are kept with the submission too.
	Warnings []string
}

// NoContactWarning is the warning for a lead stored without email or phone.
const NoContactWarning = "No email or phone number came with this submission, so the lead is marked “needs contact details”. Send an email or phone field so that the agent can reach the person."

// Submit stores a submission as a lead, or says why it cannot: an *Error
// for the sender to fix, else a storage error (store.ErrUnavailable,
// store.ErrKeyRevoked). Nothing is stored unless it returns nil.
func (in *Intake) Submit(ctx context.Context, s Submission) (Result, error) {
	if s.Payload.Gotcha != "" {
		return Result{IngestResult: store.IngestResult{Created: true}, Honeypot: true}, nil
	}
	d, errs := validate(mapLead(s.Payload.Fields, in.region), in.region)
	var unread []string
	if s.Payload.Source != "" {
		d, unread = keepAsSent(d, errs)
	}
	idem := strings.TrimSpace(s.IdempotencyKey)
	if len(idem) > maxIdempotencyKey {
		errs["Idempotency-Key"] = fmt.Sprintf("Use an idempotency key of at most %d characters.", maxIdempotencyKey)
	}
	if len(errs) > 0 {
		return Result{}, InvalidFields(errs)
	}
	switch {
	case d.Source != "" && s.Via != "":
		d.Source += " (via " + s.Via + ")"
	case d.Source == "" && s.Payload.Source != "":
		d.Source = s.Payload.Source
	case d.Source == "" && s.Source != "":
		d.Source = s.Source
	case d.Source == "":
		d.Source = s.Via
	}
	warnings := append(unread, s.Payload.Notes...)
	if d.Email == "" && d.Phone == "" {
		warnings = append([]string{NoContactWarning}, warnings...)
	}
	lead := store.LeadInput{
		TeamID: s.Key.TeamID, KeyID: s.Key.ID, TouchKey: s.TouchKey,
		Name: d.Name, Email: d.Email, Phone: d.Phone, Message: d.Message, Source: d.Source,
		Custom: d.Custom, Fields: d.All, Notes: warnings,
		// Only the media type: a parameter is anything the sender likes,
		// a key included.
		ContentType: mediaType(s.ContentType),
		Raw:         RedactBytes(s.Raw), // a form carries its key in the body; the stored copy must not
		VisitorID:   VisitorID(s.Payload.VisitorID), At: s.At,
	}
	if idem != "" {
		// Only hashes: an idempotency key may be anything, a key included.
		h := sha256.Sum256([]byte(idem))
		lead.IdemKey, lead.IdemHash = hex.EncodeToString(h[:]), sha256.Sum256(s.Raw)
	}
	res, err := in.store.IngestLead(ctx, lead)
	if errors.Is(err, store.ErrIdempotencyMismatch) {
		return Result{}, &Error{Kind: IdempotencyReused, Fields: map[string]string{"Idempotency-Key": "already used with a different body"},
			Message: "This idempotency key was already used with a different body. Use a new key for a new lead."}
	}
	if err != nil {
		return Result{}, err
	}
	return Result{IngestResult: res, Warnings: warnings}, nil
}

// keepAsSent keeps a provider's lead whose email or phone cannot be read:
// the provider retries a refused webhook, then gives up, and nobody there
// can fix what the person typed. The value is kept as a custom field and a
// warning says so; errs loses those fields' messages.
func keepAsSent(d details, errs map[string]string) (details, []string) {
	var warnings []string
	for _, f := range []struct {
		name  string
		value *string
	}{{"email", &d.Email}, {"phone", &d.Phone}} {
		if errs[f.name] == "" || *f.value == "" {
			continue
		}
		d.Custom = append(d.Custom, store.Field{Name: f.name + " (as sent)", Value: *f.value})
		warnings = append(warnings, errs[f.name]+" It is kept on the lead as sent.")
		*f.value = ""
		delete(errs, f.name)
	}
	return d, warnings
}

// mediaType is a Content-Type without its parameters.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// Identity is the tracker's identify call: a visitor says who they are.
type Identity struct {
	Key          store.APIKey
	VisitorID    string
	Email, Phone string // as sent; normalised as a lead's are, so the two meet
	Name         string // kept on the lead when it has no name yet
	TouchKey     bool
	At           time.Time
}

// ErrNoIdentity is an identify call with neither email nor phone.
var ErrNoIdentity = errors.New("identify call without email or phone")

// Identify ties a tracker visitor to the team's lead with the same email
// or phone, or leaves the details on the visitor for the lead to come.
func (in *Intake) Identify(ctx context.Context, id Identity) error {
	if id.Email == "" && id.Phone == "" {
		return ErrNoIdentity
	}
	d, errs := validate(details{Email: id.Email, Phone: id.Phone}, in.region)
	if len(errs) > 0 {
		return InvalidFields(errs)
	}
	_, err := in.store.Identify(ctx, store.IdentifyInput{
		TeamID: id.Key.TeamID, KeyID: id.Key.ID, TouchKey: id.TouchKey, VisitorID: id.VisitorID,
		Email: d.Email, Phone: d.Phone, Name: Redact(strings.TrimSpace(id.Name)), At: id.At,
	})
	return err
}

// VisitorID is v when it is shaped like the visitor ids t.js makes (and
// so is not a key), else "".
func VisitorID(v string) string {
	if len(v) < 16 || len(v) > 64 || keyPattern.MatchString(v) {
		return ""
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return v
}
