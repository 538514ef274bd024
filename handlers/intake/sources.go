package intake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A source is a lead provider whose payloads are recognised by their shape,
// so that its leads are named after it and its fields read the way it sends
// them. Each is tested against its documented payload in intake_test.go.
type source struct {
	name string
	// is reports whether the parsed fields are this provider's payload.
	is func(fieldSet) bool
	// read turns the payload into lead fields with their human labels; nil
	// keeps the fields as parsed. body is nil for multipart bodies.
	read func(body []byte, fs []field) ([]field, error)
	// key is a body field in which the provider sends the API key.
	key string
}

// sources are tried in order; the first that recognises a payload reads it.
var sources = []source{
	{name: "Typeform", is: func(s fieldSet) bool { return s.get("event_type") == "form_response" && s.prefixed("form_response.") }, read: readTypeform},
	{name: "Jotform", is: func(s fieldSet) bool { return s.has("rawRequest") && s.has("formID") }, read: readJotform},
	{name: "Gravity Forms", is: func(s fieldSet) bool { return s.has("form_id") && s.has("date_created") && s.has("source_url") }, read: readGravityForms},
	// "Select fields", keyed by the labels Gravity Forms shows for a name's
	// parts.
	{name: "Gravity Forms", is: func(s fieldSet) bool {
		return s.named(func(n string) bool { return strings.HasSuffix(n, " (First)") || strings.HasSuffix(n, " (Last)") })
	}},
	{name: "HubSpot", is: func(s fieldSet) bool {
		return s.prefixed("context.hutk") || s.prefixed("context.pageUri") || s.prefixed("legalConsentOptions.")
	}, read: readHubSpot},
	{name: "Webflow", is: func(s fieldSet) bool {
		return s.get("triggerType") == "form_submission" || s.has("_id") && s.has("site") && s.has("d") && s.prefixed("data.")
	}, read: readWebflow},
	{name: "Calendly", is: func(s fieldSet) bool { return s.get("event") == "invitee.created" && s.has("payload.email") }, read: readCalendly},
	{name: "Google Ads", is: func(s fieldSet) bool { return s.has("lead_id") && s.prefixed("user_column_data") }, read: readGoogleAds, key: "google_key"},
	{name: "Wix", is: func(s fieldSet) bool {
		return s.prefixed("data.submissions") || s.prefixed("submissions") && s.has("formName") && s.has("submissionId")
	}, read: readWix},
	{name: "Elementor", is: func(s fieldSet) bool {
		return s.has("form_id") && s.has("form_name") && (s.has("Powered by") || s.has("Page URL") || s.has("Remote IP")) || s.has("form[id]")
	}, read: readElementor},
	{name: "Contact Form 7", is: func(s fieldSet) bool {
		return s.named(func(n string) bool { return strings.HasPrefix(n, "_wpcf7") || cf7Name.MatchString(n) })
	}, read: readCF7},
	{name: "Facebook Lead Ads", is: func(s fieldSet) bool { return s.has("ad_id") || s.has("ad_name") || s.has("adset_name") }},
	{name: "Zillow", is: func(s fieldSet) bool { return s.mentions("zillow") }, read: readParsedEmail},
	{name: "Realtor.com", is: func(s fieldSet) bool { return s.mentions("realtor.com") }, read: readParsedEmail},
}

// recognise returns the source whose payload the fields are, or nil.
func recognise(fs []field) *source {
	for i := range sources {
		if sources[i].is(fieldSet(fs)) {
			return &sources[i]
		}
	}
	return nil
}

// fieldSet is a payload's fields as the sources' tests read them: the
// first field of a name. A scan, not a map: payloads have tens of fields,
// and this runs on every lead.
type fieldSet []field

func (s fieldSet) get(name string) string {
	for _, f := range s {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (s fieldSet) has(name string) bool {
	return slices.ContainsFunc(s, func(f field) bool { return f.Name == name })
}

// prefixed reports whether a field's name starts with prefix.
func (s fieldSet) prefixed(prefix string) bool {
	return slices.ContainsFunc(s, func(f field) bool { return strings.HasPrefix(f.Name, prefix) })
}

// named reports whether a field's name matches.
func (s fieldSet) named(match func(string) bool) bool {
	return slices.ContainsFunc(s, func(f field) bool { return match(f.Name) })
}

// mentions reports whether an email's sender or subject names site, as in
// the fields of a forwarded lead email parsed by Zapier's Email Parser.
func (s fieldSet) mentions(site string) bool {
	for _, n := range []string{"from", "from_email", "sender", "subject"} {
		if strings.Contains(strings.ToLower(s.get(n)), site) {
			return true
		}
	}
	return false
}

// labelled is an answer under its human label.
func labelled(label, value, detail string) field {
	f := newField(label, value, 0)
	f.detail = detail
	return f
}

// about is context: what the submission is about, not what the person said.
func about(label, value string) field {
	f := newField(label, value, 0)
	f.kind = contextual
	return f
}

// appendSet appends the fields with a value.
func appendSet(out []field, fs ...field) []field {
	for _, f := range fs {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

// readTypeform reads a form_response webhook: typed answers matched to
// their question's title in definition.fields
// (https://www.typeform.com/developers/webhooks/example-payload/).
func readTypeform(body []byte, _ []field) ([]field, error) {
	var tf struct {
		FormResponse struct {
			Hidden     map[string]any `json:"hidden"`
			Definition struct {
				Title  string `json:"title"`
				Fields []struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"fields"`
			} `json:"definition"`
			Answers []struct {
				Type        string          `json:"type"`
				Text        string          `json:"text"`
				Email       string          `json:"email"`
				PhoneNumber string          `json:"phone_number"`
				Date        string          `json:"date"`
				URL         string          `json:"url"`
				FileURL     string          `json:"file_url"`
				Number      json.RawMessage `json:"number"`
				Boolean     *bool           `json:"boolean"`
				Choice      struct {
					Label, Other string
				} `json:"choice"`
				Choices struct {
					Labels []string
					Other  string
				} `json:"choices"`
				Field struct {
					ID, Ref, Type string
				} `json:"field"`
			} `json:"answers"`
		} `json:"form_response"`
	}
	if err := json.Unmarshal(body, &tf); err != nil {
		return nil, err
	}
	r := tf.FormResponse
	titles := map[string]string{}
	for _, q := range r.Definition.Fields {
		titles[q.ID] = q.Title
	}
	var out []field
	message := false
	for _, a := range r.Answers {
		label := titles[a.Field.ID]
		if label == "" {
			label = a.Field.Ref
		}
		var value, detail string
		switch a.Type {
		case "email":
			value, detail = a.Email, "email"
		case "phone_number":
			value, detail = a.PhoneNumber, "phone"
		case "choice":
			value = firstSet(a.Choice.Label, a.Choice.Other)
		case "choices":
			value = strings.Join(appendNonEmpty(a.Choices.Labels, a.Choices.Other), ", ")
		case "boolean":
			value = map[bool]string{true: "Yes", false: "No"}[a.Boolean != nil && *a.Boolean]
		case "number":
			value = strings.TrimPrefix(string(a.Number), "null")
		default:
			value = firstSet(a.Text, a.Date, a.URL, a.FileURL)
		}
		// The first long text answer is what the person wrote to the agent.
		if a.Field.Type == "long_text" && !message && guessDetail(label) == "" {
			detail, message = "message", true
		}
		out = appendSet(out, labelled(label, value, detail))
	}
	for _, k := range sortedKeys(r.Hidden) {
		out = appendSet(out, about(k, scalarText(r.Hidden[k])))
	}
	return appendSet(out, about("Form", r.Definition.Title)), nil
}

// readJotform reads a Jotform webhook: a multipart post whose rawRequest
// field holds the answers as JSON keyed "q3_name", "q4_phoneNumber"…, and
// whose pretty field lists them with their labels, "Name:Ana Lee, Phone
// Number:(206) 555-0142" (captured in
// tuanhuy22711/jotform-bitrix24-integration logs/app.log; n8n's
// JotFormTrigger.node.ts reads rawRequest the same way).
func readJotform(_ []byte, fs []field) ([]field, error) {
	set := fieldSet(fs)
	dec := json.NewDecoder(strings.NewReader(set.get("rawRequest")))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("rawRequest is not a JSON object")
	}
	type answer struct{ name, value string }
	var answers []answer
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m := jotformKey.FindStringSubmatch(t.(string))
		if m == nil {
			continue // slug, event_id, timeToSubmit…: the form's own
		}
		if value := jotformValue(v); value != "" {
			answers = append(answers, answer{m[1], value})
		}
	}
	labels := prettyLabels(set.get("pretty"), len(answers))
	var out []field
	for i, a := range answers {
		label := humanize(a.name)
		if labels != nil {
			label = labels[i]
		}
		out = append(out, labelled(label, a.value, knownFields[normalize(a.name)]))
	}
	return appendSet(out, about("Form", set.get("formTitle"))), nil
}

var jotformKey = regexp.MustCompile(`^q\d+_(.+)$`)

// jotformSubKeys is the order in which a compound answer's parts are read.
var jotformSubKeys = []string{"prefix", "first", "middle", "last", "suffix", "full", "area", "phone", "addr_line1", "addr_line2", "city", "state", "postal", "country"}

// jotformValue is an answer as text: a name's or an address's parts in
// reading order, a phone's full number.
func jotformValue(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return scalarText(v)
	}
	if full := scalarText(m["full"]); full != "" {
		return full
	}
	var parts []string
	for _, k := range jotformSubKeys {
		if t := scalarText(m[k]); t != "" {
			parts = append(parts, t)
		}
	}
	sep := " "
	if m["city"] != nil || m["addr_line1"] != nil {
		sep = ", "
	}
	return strings.Join(parts, sep)
}

// prettyLabels reads the n labels out of Jotform's pretty text, or nil
// when it does not hold n (a value holding ", X:" would shift them).
func prettyLabels(pretty string, n int) []string {
	var labels []string
	for _, m := range prettyLabel.FindAllStringSubmatch(pretty, -1) {
		labels = append(labels, strings.TrimSpace(m[1]))
	}
	if len(labels) != n {
		return nil
	}
	return labels
}

var prettyLabel = regexp.MustCompile(`(?:^|, )([^,:]{1,100}):`)

// readGravityForms reads the Webhooks add-on's "All fields" body: the
// entry object, answers keyed by field id, a name's parts as "1.3" (first)
// and "1.6" (last) (https://docs.gravityforms.com/entry-object/,
// https://docs.gravityforms.com/triggering-webhooks-form-submissions/).
// Labels are not sent, so the email and phone are recognised by value.
func readGravityForms(_ []byte, fs []field) ([]field, error) {
	var out []field
	groups := map[string][]field{}
	var order []string
	for _, f := range fs {
		m := gravityKey.FindStringSubmatch(f.Name)
		switch {
		case m != nil:
			if _, seen := groups[m[1]]; !seen {
				order = append(order, m[1])
			}
			f.Name = m[2]
			groups[m[1]] = append(groups[m[1]], f)
		case f.Name == "source_url":
			out = appendSet(out, about("Page", f.Value))
		}
	}
	for _, id := range order {
		parts := groups[id]
		sub := map[string]string{}
		for _, p := range parts {
			sub[p.Name] = p.Value
		}
		_, street := sub["1"]
		_, first := sub["3"]
		switch {
		case len(parts) == 1 && parts[0].Name == "":
			out = appendSet(out, labelled("Field "+id, parts[0].Value, ""))
		case first && !street: // a name: .2 prefix, .3 first, .4 middle, .6 last, .8 suffix
			out = appendSet(out, labelled("Name (First)", strings.TrimSpace(sub["2"]+" "+sub["3"]+" "+sub["4"]), "first"),
				labelled("Name (Last)", strings.TrimSpace(sub["6"]+" "+sub["8"]), "last"))
		default: // an address, or a checkbox's choices
			var vals []string
			for _, p := range parts {
				if p.Value != "" {
					vals = append(vals, p.Value)
				}
			}
			out = appendSet(out, labelled("Field "+id, strings.Join(vals, ", "), ""))
		}
	}
	return out, nil
}

var gravityKey = regexp.MustCompile(`^(\d+)(?:\.(\d+))?$`)

// readHubSpot reads a forms API submission: fields as [{name, value}]
// pairs (parsed as fields already) and the page in context
// (https://developers.hubspot.com/docs/api-reference/legacy/marketing/forms/v3-legacy/submit-data-unauthenticated).
func readHubSpot(body []byte, fs []field) ([]field, error) {
	var hs struct {
		Context struct {
			PageURI  string `json:"pageUri"`
			PageName string `json:"pageName"`
		} `json:"context"`
	}
	if err := json.Unmarshal(body, &hs); err != nil {
		return nil, err
	}
	var out []field
	for _, f := range fs {
		if !strings.Contains(f.Name, ".") && f.Name != "submittedAt" && f.Name != "skipValidation" {
			out = append(out, f)
		}
	}
	return appendSet(out, about("Page", hs.Context.PageURI), about("Page title", hs.Context.PageName)), nil
}

// readWebflow reads a form_submission webhook: the answers in data (under
// payload in the current version), the form's name beside them, and
// Webflow's default textarea named "field" is the message
// (https://developers.webflow.com/data/reference/webhooks/events/form-submission).
func readWebflow(_ []byte, fs []field) ([]field, error) {
	var out []field
	form := ""
	for _, f := range fs {
		switch {
		case f.Name == "payload.name" || f.Name == "name":
			form = f.Value
		case strings.HasPrefix(f.Name, "payload.data.") || strings.HasPrefix(f.Name, "data."):
			label := f.Name[strings.Index(f.Name, "data.")+len("data."):]
			detail := ""
			if label == "field" {
				detail = "message"
			}
			out = appendSet(out, labelled(label, f.Value, detail))
		}
	}
	return appendSet(out, about("Form", form)), nil
}

// readCalendly reads an invitee.created webhook: the invitee's name and
// email, the phone from text_reminder_number (or a question about it),
// and the answers to the booking questions as the message
// (https://developer.calendly.com/api-docs/, "Webhook payload"; example in
// developer.calendly.com's "see how webhook payloads change when invitees
// reschedule events").
func readCalendly(body []byte, _ []field) ([]field, error) {
	var c struct {
		Payload struct {
			Name               string `json:"name"`
			FirstName          string `json:"first_name"`
			LastName           string `json:"last_name"`
			Email              string `json:"email"`
			TextReminderNumber string `json:"text_reminder_number"`
			Timezone           string `json:"timezone"`
			Questions          []struct {
				Question string `json:"question"`
				Answer   string `json:"answer"`
			} `json:"questions_and_answers"`
			ScheduledEvent struct {
				Name      string `json:"name"`
				StartTime string `json:"start_time"`
				Location  struct {
					Location string `json:"location"`
				} `json:"location"`
			} `json:"scheduled_event"`
			Tracking map[string]any `json:"tracking"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	p := c.Payload
	out := appendSet(nil, labelled("Name", p.Name, "name"), labelled("First name", p.FirstName, "first"),
		labelled("Last name", p.LastName, "last"), labelled("Email", p.Email, "email"),
		labelled("Phone (text reminders)", p.TextReminderNumber, "phone"))
	var answers []string
	for _, qa := range p.Questions {
		if qa.Answer == "" {
			continue
		}
		if guessDetail(qa.Question) == "phone" {
			out = append(out, labelled(qa.Question, qa.Answer, ""))
			continue
		}
		answers = append(answers, qa.Question+": "+qa.Answer)
	}
	out = appendSet(out, labelled("Answers", strings.Join(answers, "\n"), "message"),
		about("Event", p.ScheduledEvent.Name), about("Start time", p.ScheduledEvent.StartTime),
		about("Location", p.ScheduledEvent.Location.Location), about("Time zone", p.Timezone))
	for _, k := range sortedKeys(p.Tracking) {
		out = appendSet(out, about(k, scalarText(p.Tracking[k])))
	}
	return out, nil
}

// readGoogleAds reads a lead form webhook: user_column_data with each
// answer's column_id (FULL_NAME, EMAIL, PHONE_NUMBER…) and label; the key
// the advertiser set comes as google_key
// (https://developers.google.com/google-ads/webhook/docs/implementation).
func readGoogleAds(body []byte, _ []field) ([]field, error) {
	var g struct {
		Columns []struct {
			Name  string `json:"column_name"`
			Value string `json:"string_value"`
			ID    string `json:"column_id"`
		} `json:"user_column_data"`
		CampaignID json.Number `json:"campaign_id"`
		FormID     json.Number `json:"form_id"`
		IsTest     bool        `json:"is_test"`
	}
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, err
	}
	var out []field
	for _, c := range g.Columns {
		label := firstSet(c.Name, humanize(strings.ToLower(c.ID)))
		out = appendSet(out, labelled(label, c.Value, googleColumns[c.ID]))
	}
	test := ""
	if g.IsTest {
		test = "yes: sent by Google Ads' “Send test data”"
	}
	return appendSet(out, about("Campaign ID", g.CampaignID.String()), about("Form ID", g.FormID.String()), about("Test lead", test)), nil
}

var googleColumns = map[string]string{"FULL_NAME": "name", "FIRST_NAME": "first", "LAST_NAME": "last", "EMAIL": "email", "PHONE_NUMBER": "phone"}

// readWix reads an Automations "Send via webhook" body with all keys and
// values: the answers as submissions [{label, value}] (each also as a
// "field:" key) and the form's name, under data
// (https://sleekflow.io/blog/integration-guideline-wix-webhooks for the
// setup; the shape as logged by public Wix Velo and webhook-handler code).
func readWix(body []byte, _ []field) ([]field, error) {
	type form struct {
		FormName    string `json:"formName"`
		Submissions []struct {
			Label string `json:"label"`
			Value any    `json:"value"`
		} `json:"submissions"`
	}
	var w struct {
		Data *form `json:"data"`
		form
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	f := w.form
	if w.Data != nil {
		f = *w.Data
	}
	var out []field
	for _, s := range f.Submissions {
		out = appendSet(out, labelled(s.Label, scalarText(s.Value), ""))
	}
	return appendSet(out, about("Form", f.FormName)), nil
}

// readElementor reads an Elementor Pro form's Webhook action: answers
// under their labels ("No Label <id>" without one), the form's id and name,
// and the form's metadata titled "Date", "Page URL", "Powered by"…; with
// Advanced Data on, fields[<id>][title|value] instead (Elementor Pro's
// modules/forms/actions/webhook.php and classes/form-record.php, as in
// proelements/proelements).
func readElementor(_ []byte, fs []field) ([]field, error) {
	var out []field
	advanced := map[string]*field{}
	var order []string
	for _, f := range fs {
		if m := elementorAdvanced.FindStringSubmatch(f.Name); m != nil {
			a := advanced[m[1]]
			if a == nil {
				a = &field{Field: newField(m[1], "", 0).Field}
				advanced[m[1]] = a
				order = append(order, m[1])
			}
			switch m[2] {
			case "title":
				if f.Value != "" {
					a.Name = f.Value
				}
			case "value":
				a.Value = f.Value
			}
			continue
		}
		switch f.Name {
		case "form_name", "form[name]":
			out = appendSet(out, about("Form", f.Value))
		case "Page URL", "meta[page_url][value]":
			out = appendSet(out, about("Page", f.Value))
		case "form_id", "form[id]", "Date", "Time", "User Agent", "Remote IP", "Powered by":
		default:
			if !strings.HasPrefix(f.Name, "meta[") {
				f.Name = strings.TrimPrefix(f.Name, "No Label ")
				out = appendSet(out, f)
			}
		}
	}
	for _, id := range order {
		out = appendSet(out, *advanced[id])
	}
	return out, nil
}

var elementorAdvanced = regexp.MustCompile(`^fields\[([^\]]+)\]\[(title|value)\]$`)

// cf7Name matches Contact Form 7's field names: "your-name" in its default
// form, "<type>-<number>" for tags added in its editor ("tel-738").
var (
	cf7Name = regexp.MustCompile(`^your-[a-z]+$|^(?:text|email|tel|textarea|url|number|date|select|checkbox|radio|menu)-\d+$`)
	cf7Tag  = regexp.MustCompile(`^(email|tel|textarea)-\d+$`)
)

// readCF7 reads Contact Form 7's fields as posted by the CF7 to Webhook
// plugin: one JSON key per form tag (mariovalney/cf7-to-zapier,
// modules/cf7/class-module-cf7.php), names as in CF7's default form and
// editor (https://contactform7.com/tag-syntax/). A tag's type says its
// detail: tel-738 is a phone, textarea-12 a message.
func readCF7(_ []byte, fs []field) ([]field, error) {
	var out []field
	for _, f := range fs {
		if strings.HasPrefix(f.Name, "_wpcf7") {
			continue
		}
		if m := cf7Tag.FindStringSubmatch(f.Name); m != nil {
			f.detail = map[string]string{"email": "email", "tel": "phone", "textarea": "message"}[m[1]]
		}
		if f.Name == "your-subject" {
			f.kind = contextual
		}
		out = append(out, f)
	}
	return out, nil
}

// readParsedEmail reads the fields a Zap posts from a lead email parsed by
// Zapier's Email Parser: the sender and subject are the portal's, not the
// person's, so they are context and never taken for the lead's email.
func readParsedEmail(_ []byte, fs []field) ([]field, error) {
	out := slices.Clone(fs)
	for i, f := range out {
		switch f.Name {
		case "from", "from_email", "sender", "subject", "to", "recipient":
			out[i].kind = contextual
		}
	}
	return out, nil
}

// firstSet is the first non-empty string.
func firstSet(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func appendNonEmpty(list []string, more ...string) []string {
	out := slices.Clone(list)
	for _, m := range more {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// humanize turns a field's name into a label: "phoneNumber" and
// "phone_number" become "Phone number".
func humanize(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r == '-':
			b.WriteByte(' ')
		case unicode.IsUpper(r) && i > 0:
			b.WriteByte(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return name
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
