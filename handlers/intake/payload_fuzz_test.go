package intake

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseLeadBody feeds arbitrary bodies to the inbound parser: it must
// never panic, every field it returns must be valid UTF-8 within the limits
// with no API key left in it, and validation must either refuse the lead
// or return a usable contact.
func FuzzParseLeadBody(f *testing.F) {
	seeds := []struct{ ctype, body string }{
		{"application/json", `{"full_name": "Jamie Buyer", "email": "jamie@example.com", "phone_number": "(555) 123-4567"}`},
		{"application/json", `{"name": "Lee", "questions_and_answers": [{"question": "Phone Number", "answer": "+44 20 7946 0958"}]}`},
		{"application/json", `{"payload": {"name": "Sam", "email": "s@example.com", "tags": [1, "two", null, [3]]}}`},
		{"application/x-www-form-urlencoded", "First+Name=Ana&Last+Name=Lee&Email=ana%40example.com&api_key=closr_x&_gotcha="},
		{"multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nm@example.com\r\n--XYZ--\r\n"},
		{"text/plain", `{"phone": "+1 555 222 3333"}`},
		{"application/json", `[1, 2]`},
		{"application/json", `{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}`},
		{"text/xml", "<x/>"},
		{"application/json", `{"triggerType":"form_submission","payload":{"name":"Contact Form","siteId":"65f0c1","data":{"Name":"Jamie Buyer","Email":"jamie@example.com","Phone":"555-123-4567","Message":"Tour Saturday?"},"submittedAt":"2026-11-26T15:00:00.000Z","id":"6761a","formId":"65f0c2"}}`},
		{"application/json", `{"name":"Contact Form","site":"65f0c1","data":{"Name":"Jamie Buyer","Email":"jamie@example.com"},"d":"2026-11-26T15:00:00.000Z","_id":"6761a"}`},
		{"application/json", `{"email":"k@example.com","data":{"api_key":"closr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"note":"\u0063losr_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}`},
		{"application/json", `{"event_type":"form_response","form_response":{"definition":{"title":"T","fields":[{"id":"a","title":"Email?","type":"email"}]},"answers":[{"type":"email","email":"t@example.com","field":{"id":"a","type":"email"}},{"type":"number","number":null,"field":{"id":"b"}}]}}`},
		{"multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"formID\"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n{\"q3_name\":{\"first\":\"\u00e9va\",\"last\":\"L\"},\"q4_e\":\"e@example.com\"}\r\n--B\r\nContent-Disposition: form-data; name=\"pretty\"\r\n\r\nName:\u00e9va L, E:e@example.com\r\n--B--"},
		{"application/json", `{"lead_id":"x","user_column_data":[{"column_name":"Full Name","string_value":"G","column_id":"FULL_NAME"},{"string_value":"g@example.com","column_id":"EMAIL"}],"google_key":"k","form_id":1}`},
		{"application/x-www-form-urlencoded", "fields%5Bname%5D%5Btitle%5D=Name&fields%5Bname%5D%5Bvalue%5D=Ed&form%5Bid%5D=1&Remote+IP=1"},
		{"application/json", `{"form_id":"3","date_created":"x","source_url":"u","1.3":"S","1.6":"O","2":"s@example.com","3":"(206) 555-0199","5.1":"a"}`},
	}
	for _, s := range seeds {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		p, err := Parse(ctype, body)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not an intake.Error", err)
			}
			return
		}
		if len(p.Fields) > maxFields {
			t.Fatalf("%d fields, limit %d", len(p.Fields), maxFields)
		}
		for _, fl := range p.Fields {
			if !utf8.ValidString(fl.Name) || !utf8.ValidString(fl.Value) {
				t.Fatalf("invalid UTF-8 in %q=%q", fl.Name, fl.Value)
			}
			if utf8.RuneCountInString(fl.Name) > maxFieldName || utf8.RuneCountInString(fl.Value) > maxFieldValue {
				t.Fatalf("field over the limits: %d/%d runes", utf8.RuneCountInString(fl.Name), utf8.RuneCountInString(fl.Value))
			}
		}
		for _, n := range p.Notes {
			if keyPattern.MatchString(n) {
				t.Fatalf("a key survived in the note %q", n)
			}
		}
		mapped := mapLead(p.Fields, "US")
		for _, fl := range append(mapped.All, mapped.Custom...) {
			if keyPattern.MatchString(fl.Name) || keyPattern.MatchString(fl.Value) {
				t.Fatalf("a key survived in %q=%q", fl.Name, fl.Value)
			}
		}
		for _, v := range []string{mapped.Name, mapped.Email, mapped.Phone, mapped.Message, mapped.Source} {
			if keyPattern.MatchString(v) {
				t.Fatalf("a key survived in %q", v)
			}
		}
		d, errs := validate(mapped, "US")
		if len(errs) == 0 && d.Email == "" && d.Phone == "" && !d.Content {
			t.Fatal("a lead with no email, phone or content passed validation")
		}
		if len(errs) == 0 && d.Phone != "" && d.Phone[0] != '+' {
			t.Fatalf("phone %q is not E.164", d.Phone)
		}
	})
}
