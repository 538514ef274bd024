package intake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"closr/store"
)

// Limits on what one submission may carry.
const (
	// MaxBody is the largest body a submission may have, files of a
	// multipart body not counted: they are read past, not kept.
	MaxBody       = 64 << 10
	maxFields     = 200
	maxParts      = 2 * maxFields
	maxFieldName  = 200
	maxFieldValue = 10_000
	maxJSONDepth  = 8
)

// Payload is a submission's body, parsed: its fields in the order sent and
// the reserved fields that steer the endpoint rather than describe a lead.
type Payload struct {
	Fields    []field
	APIKey    string // api_key (or a provider's key field): for senders that cannot set headers
	Redirect  string // _redirect (Formspree's _next): where a browser goes after success
	Gotcha    string // _gotcha: the honeypot; filled only by bots
	VisitorID string // closr_visitor_id: added by t.js
	// Source is the provider whose payload this is ("Typeform"), "" when
	// the shape is no provider's in particular.
	Source string
	// Notes say what was left out of the submission: attached files.
	Notes []string
}

// field is a parsed value with its depth in a JSON body (0 for forms), so
// that a top-level "name" beats a nested "event.name", and whether it sits
// inside a "data" object, so that the submitted fields beat the metadata
// beside them: a Webflow form webhook sends the form's own name as
// payload.name next to the person's payload.data.Name.
type field struct {
	store.Field
	depth  int
	inData bool
	// detail is the lead detail a provider says the field carries
	// ("email" for a Typeform email answer); "" to go by its name.
	detail string
	kind   fieldKind
}

// fieldKind says what a field tells about the person.
type fieldKind uint8

const (
	// answer: something the person entered; kept on the lead.
	answer fieldKind = iota
	// contextual: about the submission (the form's name, the page); kept on
	// the lead, but a submission of context alone says nothing.
	contextual
	// plumbing: the sender's own settings (CF7's _wpcf7 ids, _subject);
	// kept with the submission only.
	plumbing
)

// beats reports whether f is a better source for a lead detail than prev:
// a field inside a data object wins, then the shallower one.
func (f field) beats(prev field) bool {
	if f.inData != prev.inData {
		return f.inData
	}
	return f.depth < prev.depth
}

// underData reports whether a dotted JSON path runs through an object
// named "data" (any case), such as "payload.data.Email".
func underData(path string) bool {
	parents := strings.Split(path, ".")
	for _, p := range parents[:len(parents)-1] {
		if strings.EqualFold(p, "data") {
			return true
		}
	}
	return false
}

// jsonField is a field read from a JSON body at path.
func jsonField(path, value string, depth int) field {
	f := newField(path, value, depth)
	f.inData = underData(path)
	return f
}

var (
	errUnsupportedType = &Error{Kind: Unsupported,
		Message: "Send the lead as application/json, application/x-www-form-urlencoded or multipart/form-data, and set the Content-Type header to match."}
	errTooManyFields = &Error{Kind: Invalid,
		Message: fmt.Sprintf("A lead may have at most %d fields.", maxFields), Fields: map[string]string{"_": "too many fields"}}
	errTooLarge = &Error{Kind: TooLarge,
		Message: fmt.Sprintf("The lead is larger than %d KiB. Send only the form's fields.", MaxBody>>10)}
	errFieldsTooLarge = &Error{Kind: TooLarge,
		Message: fmt.Sprintf("The form's fields are larger than %d KiB (attached files are not counted). Send only the form's fields.", MaxBody>>10)}
)

func errUnreadable(what string) *Error { return &Error{Kind: Unreadable, Message: what} }

// Parse parses a body already read.
func Parse(contentType string, body []byte) (Payload, error) {
	p, _, err := Read(contentType, bytes.NewReader(body))
	return p, err
}

// Read reads and parses a body of the given Content-Type from r. It returns
// the body to keep with the submission: as sent, except that the files of
// a multipart body are read past without being kept (each leaves a note).
// A failure to read r is returned wrapped, not as an *Error, so that the
// caller can tell its own limits from the sender's mistakes.
func Read(contentType string, r io.Reader) (Payload, []byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		return Payload{}, nil, errUnsupportedType
	}
	var p Payload
	if mt == "multipart/form-data" {
		fields, raw, notes, err := readMultipart(r, params["boundary"])
		if err != nil {
			return Payload{}, nil, err
		}
		p, err = payloadOf(nil, fields)
		p.Notes = notes
		return p, raw, err
	}
	parse := parseJSONFields
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json") || mt == "text/plain":
	case mt == "application/x-www-form-urlencoded":
		parse = parseURLEncoded
	default:
		return Payload{}, nil, errUnsupportedType
	}
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	switch {
	case err != nil:
		return Payload{}, nil, fmt.Errorf("read lead body: %w", err)
	case len(body) > MaxBody:
		return Payload{}, nil, errTooLarge
	}
	fields, err := parse(body)
	if err != nil {
		return Payload{}, nil, err
	}
	p, err = payloadOf(body, fields)
	return p, body, err
}

// payloadOf sorts parsed fields into the reserved ones and the lead's, and
// reads them the way their provider sends them (see sources).
func payloadOf(body []byte, fields []field) (Payload, error) {
	var p Payload
	var rest []field
	for _, f := range fields {
		switch f.Name {
		case "api_key":
			p.APIKey = f.Value
		case "_redirect", "_next": // _next: forms written for Formspree
			if p.Redirect == "" {
				p.Redirect = f.Value
			}
		case "_gotcha":
			p.Gotcha = f.Value
		case "closr_visitor_id":
			p.VisitorID = f.Value
		default:
			rest = append(rest, f)
		}
	}
	if src := recognise(rest); src != nil {
		p.Source = src.name
		if src.key != "" {
			rest = slices.DeleteFunc(rest, func(f field) bool {
				if f.Name == src.key && p.APIKey == "" {
					p.APIKey = f.Value
				}
				return f.Name == src.key
			})
		}
		// A payload that looks like the provider's but does not read as
		// its documented shape keeps its fields as parsed: a lead with
		// plainer labels beats a refused one the provider gives up on.
		if src.read != nil {
			if read, err := src.read(body, rest); err == nil {
				rest = read
			}
		}
	}
	if len(rest) > maxFields {
		return Payload{}, errTooManyFields
	}
	p.Fields = rest
	return p, nil
}

func newField(name, value string, depth int) field {
	name = strings.ToValidUTF8(strings.TrimSpace(name), "\uFFFD")
	value = strings.ToValidUTF8(strings.TrimSpace(value), "\uFFFD")
	if utf8.RuneCountInString(name) > maxFieldName {
		name = string([]rune(name)[:maxFieldName])
	}
	if utf8.RuneCountInString(value) > maxFieldValue {
		value = string([]rune(value)[:maxFieldValue])
	}
	return field{Field: store.Field{Name: name, Value: value}, depth: depth}
}

func parseURLEncoded(body []byte) ([]field, error) {
	var fields []field
	for _, pair := range strings.Split(string(body), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errUnreadable("The form body is not valid URL encoding.")
		}
		fields = append(fields, newField(k, v, 0))
	}
	return fields, nil
}

// readMultipart reads a multipart body part by part. Fields are kept, up to
// MaxBody in all; files are read past without being kept, each leaving a
// note with its name and size, so a form with an attached photo or letter
// still delivers its lead. The raw body kept is the fields' parts as sent
// with each file's content replaced by its note.
func readMultipart(r io.Reader, boundary string) ([]field, []byte, []string, error) {
	if boundary == "" {
		return nil, nil, nil, errUnreadable("The multipart body has no boundary in its Content-Type.")
	}
	src := &sourceReader{r: r}
	mr := multipart.NewReader(src, boundary)
	var raw bytes.Buffer
	var fields []field
	var notes []string
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if n > 0 {
				fmt.Fprintf(&raw, "--%s--", boundary)
			}
			return fields, raw.Bytes(), notes, nil
		}
		if err != nil {
			return nil, nil, nil, src.failed(err)
		}
		if n == maxParts {
			return nil, nil, nil, errTooManyFields
		}
		fmt.Fprintf(&raw, "--%s\r\n", boundary)
		// A base64 part is kept decoded (quoted-printable ones the reader
		// decodes itself): its value is the text, and a key in it must be
		// visible to redaction.
		base64Part := strings.EqualFold(strings.TrimSpace(part.Header.Get("Content-Transfer-Encoding")), "base64") && part.FileName() == ""
		if base64Part {
			part.Header.Del("Content-Transfer-Encoding")
		}
		writePartHeader(&raw, part.Header)
		if name := part.FileName(); name != "" {
			size, err := io.Copy(io.Discard, part)
			if err != nil {
				return nil, nil, nil, src.failed(err)
			}
			note := fmt.Sprintf("File %q of %d bytes was left out: Closr does not keep attachments.", clip(Redact(strings.ToValidUTF8(name, "\uFFFD")), 100), size)
			notes = append(notes, note)
			fmt.Fprintf(&raw, "[%s]\r\n", note)
			continue
		}
		var body io.Reader = part
		if base64Part {
			body = base64.NewDecoder(base64.StdEncoding, part) // line breaks are ignored
		}
		v, err := io.ReadAll(io.LimitReader(body, int64(MaxBody-raw.Len())+1))
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return nil, nil, nil, errUnreadable(fmt.Sprintf("The multipart field %q says it is base64 but is not.", clip(part.FormName(), 80)))
		}
		if err != nil {
			return nil, nil, nil, src.failed(err)
		}
		raw.Write(v)
		raw.WriteString("\r\n")
		if raw.Len() > MaxBody {
			return nil, nil, nil, errFieldsTooLarge
		}
		fields = append(fields, newField(part.FormName(), string(v), 0))
	}
}

// sourceReader remembers the first failure of the reader under a
// multipart.Reader, which reports it mixed with malformed-body errors.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// failed is the request's own read failure when there was one (a size
// cap, a client gone), else the body is malformed: the sender's to fix.
func (s *sourceReader) failed(err error) error {
	if s.err != nil {
		return fmt.Errorf("read lead body: %w", s.err)
	}
	return errUnreadable("The multipart body could not be read: " + err.Error())
}

// writePartHeader writes a part's header back as it came: the
// Content-Disposition first, the rest in name order.
func writePartHeader(w *bytes.Buffer, h textproto.MIMEHeader) {
	names := slices.Sorted(maps.Keys(h))
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case a == "Content-Disposition":
			return -1
		case b == "Content-Disposition":
			return 1
		}
		return 0
	})
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	w.WriteString("\r\n")
}

// parseJSONFields flattens a JSON object into fields, keeping key order.
// Nested keys are joined with dots; Calendly's questions_and_answers become
// one field per question.
func parseJSONFields(body []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, errUnreadable("The body is not valid JSON: " + err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errUnreadable("The JSON body must be an object, like {\"email\": \"ana@example.com\"}.")
	}
	var fields []field
	if err := walkObject(dec, "", 0, &fields); err != nil {
		return nil, errUnreadable("The body is not valid JSON: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errUnreadable("The body has data after its JSON object.")
	}
	return fields, nil
}

func walkObject(dec *json.Decoder, prefix string, depth int, out *[]field) error {
	if depth > maxJSONDepth {
		return errors.New("nested too deeply")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := walkValue(dec, prefix+key, key, depth, out); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func walkValue(dec *json.Decoder, path, key string, depth int, out *[]field) error {
	if len(*out) > maxFields*2 {
		return errors.New("too many values")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return walkObject(dec, path+".", depth+1, out)
		}
		return walkArray(dec, path, key, depth, out)
	case string:
		*out = append(*out, jsonField(path, v, depth))
	case json.Number:
		*out = append(*out, jsonField(path, v.String(), depth))
	case bool:
		*out = append(*out, jsonField(path, strconv.FormatBool(v), depth))
	case nil:
	}
	return nil
}

func walkArray(dec *json.Decoder, path, key string, depth int, out *[]field) error {
	if depth > maxJSONDepth {
		return errors.New("nested too deeply")
	}
	var scalars []string
	for i := 0; dec.More(); i++ {
		var elem any
		if err := dec.Decode(&elem); err != nil {
			return err
		}
		switch e := elem.(type) {
		case map[string]any:
			q, qok := e["question"].(string)
			if qok && normalize(key) == "questionsandanswers" {
				a, _ := e["answer"].(string)
				qa := newField(q, a, depth)
				qa.inData = underData(path)
				*out = append(*out, qa)
				continue
			}
			// {"name": ..., "value": ...} pairs, as HubSpot's forms API and
			// many form builders send their fields.
			if n, ok := e["name"].(string); ok && e["value"] != nil {
				pair := newField(n, scalarText(e["value"]), depth)
				pair.inData = underData(path)
				*out = append(*out, pair)
				continue
			}
			b, _ := json.Marshal(e)
			*out = append(*out, jsonField(fmt.Sprintf("%s.%d", path, i), string(b), depth+1))
		case []any:
			b, _ := json.Marshal(e)
			scalars = append(scalars, string(b))
		case nil:
		default:
			scalars = append(scalars, fmt.Sprint(e))
		}
	}
	if len(scalars) > 0 {
		*out = append(*out, jsonField(path, strings.Join(scalars, ", "), depth))
	}
	_, err := dec.Token() // ']'
	return err
}

// scalarText is a decoded JSON value as text: lists joined with commas.
func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if t := scalarText(e); t != "" {
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Named is a payload of named details and other fields, as MCP's
// create_lead takes them. The named details come first, so they win over
// another field of the same meaning; the others follow in name order.
func Named(name, email, phone, message, source string, other map[string]string) (Payload, error) {
	if len(other) > maxFields {
		return Payload{}, &Error{Kind: Invalid, Fields: map[string]string{"fields": "too many fields"},
			Message: fmt.Sprintf("Send at most %d fields (this one has %d).", maxFields, len(other))}
	}
	fields := []field{newField("name", name, 0), newField("email", email, 0), newField("phone", phone, 0),
		newField("message", message, 0), newField("source", source, 0)}
	for _, n := range slices.Sorted(maps.Keys(other)) {
		fields = append(fields, newField(n, other[n], 1))
	}
	var p Payload
	for _, f := range fields {
		if f.Name != "" && f.Value != "" {
			p.Fields = append(p.Fields, f)
		}
	}
	return p, nil
}
