package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"closr/store"
)

// Limits on what one submission may carry.
const (
	// MaxBody is the largest body a submission may have.
	MaxBody       = 64 << 10
	maxFields     = 200
	maxFieldName  = 200
	maxFieldValue = 10_000
	maxJSONDepth  = 8
)

// Payload is a submission's body, parsed: its fields in the order sent and
// the reserved fields that steer the endpoint rather than describe a lead.
type Payload struct {
	Fields    []field
	APIKey    string // api_key: for forms, which cannot set headers
	Redirect  string // _redirect: where a browser goes after success
	Gotcha    string // _gotcha: the honeypot; filled only by bots
	VisitorID string // closr_visitor_id: added by t.js
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
}

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
)

func errUnreadable(what string) *Error { return &Error{Kind: Unreadable, Message: what} }

// Parse reads a body of the given Content-Type.
func Parse(contentType string, body []byte) (Payload, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		return Payload{}, errUnsupportedType
	}
	var fields []field
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json") || mt == "text/plain":
		fields, err = parseJSONFields(body)
	case mt == "application/x-www-form-urlencoded":
		fields, err = parseURLEncoded(body)
	case mt == "multipart/form-data":
		fields, err = parseMultipart(body, params["boundary"])
	default:
		return Payload{}, errUnsupportedType
	}
	if err != nil {
		return Payload{}, err
	}
	var p Payload
	for _, f := range fields {
		switch f.Name {
		case "api_key":
			p.APIKey = f.Value
		case "_redirect":
			p.Redirect = f.Value
		case "_gotcha":
			p.Gotcha = f.Value
		case "closr_visitor_id":
			p.VisitorID = f.Value
		default:
			if len(p.Fields) == maxFields {
				return Payload{}, errTooManyFields
			}
			p.Fields = append(p.Fields, f)
		}
	}
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

func parseMultipart(body []byte, boundary string) ([]field, error) {
	if boundary == "" {
		return nil, errUnreadable("The multipart body has no boundary in its Content-Type.")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var fields []field
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return fields, nil
		}
		if err != nil {
			return nil, errUnreadable("The multipart body could not be read: " + err.Error())
		}
		if part.FileName() != "" { // files are not lead details; the raw body keeps them
			continue
		}
		v, err := io.ReadAll(part)
		if err != nil {
			return nil, errUnreadable("The multipart body could not be read.")
		}
		fields = append(fields, newField(part.FormName(), string(v), 0))
	}
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
