package intake

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"closr/store"
)

// normalize makes "First Name", "first_name" and "firstName" the same key.
func normalize(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r != ' ' && r != '_' && r != '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// knownFields maps normalized field names to the lead detail they carry, as
// Facebook Lead Ads (through Zapier), Calendly, Typeform, Webflow and
// hand-made forms name them.
var knownFields = map[string]string{}

func init() {
	for detail, names := range map[string][]string{
		"name":    {"name", "fullname", "yourname", "contactname", "clientname"},
		"first":   {"firstname", "fname", "givenname", "first"},
		"last":    {"lastname", "lname", "surname", "familyname", "last"},
		"email":   {"email", "emailaddress", "youremail", "mail"},
		"phone":   {"phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "tel", "telephone", "cell", "cellphone", "yourphone", "contactnumber"},
		"message": {"message", "comments", "comment", "notes", "note", "yourmessage", "enquiry", "inquiry"},
		"source":  {"source", "leadsource"},
	} {
		for _, n := range names {
			knownFields[n] = detail
		}
	}
}

// details are the fields of a payload sorted into lead details and
// custom fields.
type details struct {
	Name, Email, Phone, Message, Source string
	Custom                              []store.Field
	All                                 []store.Field
}

func mapLead(fields []field) details {
	var d details
	found := map[string]field{}
	for _, f := range fields {
		// Redacted first, so a lead is checked and mapped as it will be
		// stored: no key reaches a lead, whichever caller sent the fields.
		f.Name, f.Value = Redact(f.Name), Redact(f.Value)
		d.All = append(d.All, f.Field)
		detail, ok := knownFields[normalize(f.Name)]
		if prev, seen := found[detail]; ok && f.Value != "" && (!seen || f.beats(prev)) {
			if seen {
				d.Custom = append(d.Custom, prev.Field)
			}
			found[detail] = f
			continue
		}
		d.Custom = append(d.Custom, f.Field)
	}
	d.Name = found["name"].Value
	if d.Name == "" {
		d.Name = strings.TrimSpace(found["first"].Value + " " + found["last"].Value)
	} else {
		for _, k := range []string{"first", "last"} {
			if f, ok := found[k]; ok {
				d.Custom = append(d.Custom, f.Field)
			}
		}
	}
	d.Email, d.Phone = found["email"].Value, found["phone"].Value
	d.Message, d.Source = found["message"].Value, found["source"].Value
	return d
}

// validate checks the details and returns them normalized (email lower
// case, phone E.164) or a message per field to fix.
func validate(d details, region string) (details, map[string]string) {
	errs := map[string]string{}
	if d.Email == "" && d.Phone == "" {
		msg := "Send an email or a phone number (or both) so the agent can reach this person."
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
