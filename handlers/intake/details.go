package intake

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"closr/store"
)

// normalize makes "First Name", "first_name", "firstName" and Gravity
// Forms' "Name (First)" the same key.
func normalize(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r != ' ' && r != '_' && r != '-' && r != '(' && r != ')' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// knownFields maps normalized field names to the lead detail they carry, as
// Facebook Lead Ads (through Zapier), Calendly, Typeform, Webflow, HubSpot,
// Contact Form 7, Gravity Forms and hand-made forms name them.
var knownFields = map[string]string{}

func init() {
	for detail, names := range map[string][]string{
		"name":    {"name", "fullname", "yourname", "contactname", "clientname"},
		"first":   {"firstname", "fname", "givenname", "first", "namefirst"},
		"last":    {"lastname", "lname", "surname", "familyname", "last", "namelast"},
		"email":   {"email", "emailaddress", "youremail", "mail", "replyto"},
		"phone":   {"phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "tel", "telephone", "cell", "cellphone", "yourphone", "yourtel", "contactnumber"},
		"message": {"message", "comments", "comment", "notes", "note", "yourmessage", "enquiry", "inquiry"},
		"source":  {"source", "leadsource"},
	} {
		for _, n := range names {
			knownFields[n] = detail
		}
	}
}

// labelWords are the words of field labels that name a lead detail, for
// labels written as questions ("What is your first name?", "Best number to
// reach you"). A detail read from a label is used only to fill a gap, and
// an email or phone only when the value is one.
var labelWords = []struct {
	detail string
	words  []string // any one of these, as a word or a phrase of words
}{
	{"email", []string{"email", "e mail", "mail"}},
	{"phone", []string{"phone", "telephone", "tel", "mobile", "cell", "whatsapp", "sms", "best number", "number to reach"}},
	{"first", []string{"first name", "given name"}},
	{"last", []string{"last name", "surname", "family name"}},
	{"message", []string{"message", "comment", "comments", "question", "questions", "notes", "enquiry", "inquiry", "anything else", "how can we help"}},
	{"name", []string{"name"}},
}

// notPersonName are words that make a "name" label something else's name:
// an ad's, a form's, a street's.
var notPersonName = []string{"ad", "adset", "campaign", "company", "business", "brokerage", "property", "street", "agent", "form", "event", "listing", "site", "page", "user", "file", "pet", "school", "building"}

// guessDetail reads a label as a lead detail, or "".
func guessDetail(label string) string {
	words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(label), func(r rune) bool {
		return !unicode.IsLetter(r)
	}), " ") + " "
	has := func(w string) bool { return strings.Contains(words, " "+w+" ") }
	for _, lw := range labelWords {
		for _, w := range lw.words {
			if !has(w) {
				continue
			}
			if lw.detail == "name" && slices.ContainsFunc(notPersonName, has) {
				return ""
			}
			return lw.detail
		}
	}
	return ""
}

// details are the fields of a payload sorted into lead details and
// custom fields.
type details struct {
	Name, Email, Phone, Message, Source string
	Custom                              []store.Field
	All                                 []store.Field
	// Content: the person told something (a name, a message, an answer),
	// not just the key and the form's settings.
	Content bool
}

func mapLead(fields []field, region string) details {
	var d details
	found := map[string]field{}
	var rest []field // the fields that are no detail, in order: custom fields
	for _, f := range fields {
		// Redacted first, so a lead is checked and mapped as it will be
		// stored: no key reaches a lead, whichever caller sent the fields.
		f.Name, f.Value = Redact(f.Name), Redact(f.Value)
		d.All = append(d.All, f.Field)
		detail := f.detail
		if detail == "" {
			detail = knownFields[normalize(f.Name)]
		}
		if f.kind == plumbing || detail == "" && strings.HasPrefix(f.Name, "_") { // _subject, _wpcf7: a form service's settings
			continue
		}
		if f.kind == answer && f.Value != "" && detail != "source" {
			d.Content = true
		}
		if prev, seen := found[detail]; detail != "" && f.Value != "" && (!seen || f.beats(prev)) {
			if seen {
				rest = append(rest, prev)
			}
			found[detail] = f
			continue
		}
		rest = append(rest, f)
	}
	rest = fillGaps(rest, found, region)

	name, first, last := found["name"], found["first"], found["last"]
	parts := strings.TrimSpace(first.Value + " " + last.Value)
	if name.Value == "" || parts != "" && (first.Value != "" && first.beats(name) || last.Value != "" && last.beats(name)) {
		// First and last name inside a form's data beat the name beside
		// it (a Webflow webhook's form name).
		d.Name = parts
		if name.Value != "" {
			rest = append(rest, name)
		}
	} else {
		d.Name = name.Value
		for _, f := range []field{first, last} {
			if f.Value != "" {
				rest = append(rest, f)
			}
		}
	}
	for _, f := range rest {
		d.Custom = append(d.Custom, f.Field)
	}
	d.Email, d.Phone = found["email"].Value, found["phone"].Value
	d.Message, d.Source = found["message"].Value, found["source"].Value
	return d
}

// fillGaps fills the details still missing from the other answers: by
// label ("Your e-mail address", "Best number to reach you"), then by value
// (an answer that is an email address, or written like a phone number). It
// returns the answers left.
func fillGaps(rest []field, found map[string]field, region string) []field {
	guesses := make([]string, len(rest))
	for i, f := range rest {
		if f.kind == answer && f.Value != "" {
			guesses[i] = guessDetail(f.Name)
		}
	}
	take := func(detail string, ok func(int, field) bool) {
		if _, done := found[detail]; done {
			return
		}
		for i, f := range rest {
			if f.kind == answer && f.Value != "" && ok(i, f) {
				found[detail] = f
				rest, guesses = slices.Delete(rest, i, i+1), slices.Delete(guesses, i, i+1)
				return
			}
		}
	}
	for _, detail := range []string{"email", "phone", "first", "last", "message", "name"} {
		take(detail, func(i int, f field) bool {
			if guesses[i] != detail {
				return false
			}
			switch detail {
			case "email":
				return isEmail(f.Value)
			case "phone":
				return isPhone(f.Value, region)
			case "name":
				return found["first"].Value == "" && found["last"].Value == ""
			}
			return true
		})
	}
	take("email", func(_ int, f field) bool { return isEmail(f.Value) })
	take("phone", func(_ int, f field) bool { return writtenLikePhone(f.Value) && isPhone(f.Value, region) })
	return rest
}

// isEmail reports whether v is an email address and nothing else.
func isEmail(v string) bool {
	addr, err := mail.ParseAddress(v)
	return err == nil && addr.Address == v && strings.Contains(v[strings.LastIndexByte(v, '@'):], ".")
}

// isPhone reports whether v reads as a phone number of region.
func isPhone(v, region string) bool {
	num, err := phonenumbers.Parse(v, region)
	return err == nil && phonenumbers.IsPossibleNumber(num)
}

// writtenLikePhone reports whether v is written the way people write phone
// numbers: a leading + or digit groups with separators, 7 to 15 digits,
// nothing else. Dates, prices, zip codes and ids are not.
func writtenLikePhone(v string) bool {
	digits, seps := 0, 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
			seps++
		case r == ' ' || r == '(' || r == ')' || r == '-' || r == '.':
			seps++
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15 && seps > 0
}

// validate checks the details and returns them normalized (email lower
// case, phone E.164) or a message per field to fix. A submission with
// content but neither email nor phone passes: its lead needs contact
// details. One with nothing the person told is refused.
func validate(d details, region string) (details, map[string]string) {
	errs := map[string]string{}
	if d.Email == "" && d.Phone == "" && !d.Content {
		msg := "This submission holds nothing about the person: send their name, email, phone number or message."
		errs["email"], errs["phone"] = msg, msg
		return d, errs
	}
	if d.Email != "" {
		addr, err := mail.ParseAddress(d.Email)
		if err != nil || !strings.Contains(addr.Address, ".") || len(addr.Address) > 254 {
			errs["email"] = fmt.Sprintf("%q is not an email address; send one like name@example.com.", clip(d.Email, 80))
		} else {
			d.Email = strings.ToLower(addr.Address)
		}
	}
	if d.Phone != "" {
		num, err := phonenumbers.Parse(d.Phone, region)
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			errs["phone"] = fmt.Sprintf("%q is not a phone number; send one like +1 555 123 4567 (with the country code when outside %s).", clip(d.Phone, 40), region)
		} else {
			d.Phone = phonenumbers.Format(num, phonenumbers.E164)
		}
	}
	for _, f := range []struct{ name, v string }{{"name", d.Name}, {"source", d.Source}} {
		if utf8.RuneCountInString(f.v) > 200 {
			errs[f.name] = fmt.Sprintf("Keep %s to 200 characters or fewer.", f.name)
		}
	}
	return d, errs
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
