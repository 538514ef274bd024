package handlers

import (
	"testing"
	"unicode/utf8"

	"closr/handlers/intake"
)

// FuzzParseTrackPayload feeds arbitrary events to the tracker parser: it
// must never panic, every error must be a problem with a status, and an
// accepted event must be within the limits, valid UTF-8, of a known type
// and carry a visitor id of the allowed shape.
func FuzzParseTrackPayload(f *testing.F) {
	seeds := []struct{ ctype, body string }{
		{"text/plain;charset=UTF-8", `{"api_key":"closr_x","type":"pageview","visitor_id":"0123456789abcdef","url":"https://sunset.example/homes?utm_source=fb&clsr=tok","title":"Homes","referrer":"https://www.google.com/","screen_width":1280}`},
		{"application/json", `{"type":"identify","visitor_id":"0123456789abcdef_-","url":"http://a.example/","email":"Ana@Example.com","phone":"+1 555 123 4567","name":"Ana"}`},
		{"application/json", `{"type":"pageview","visitor_id":"short","url":"ftp://x.example/"}`},
		{"text/plain", `{"type":"pageview","visitor_id":"0123456789abcdef","url":"https://a.example/","screen_width":"wide"}`},
		{"text/plain", `{"type":"pageview","visitor_id":"0123456789abcdef","url":"https://a.example/%zz?utm_source=%ff","screen_width":1e308}`},
		{"application/vnd.api+json", `{"type":"pageview","visitor_id":"0123456789abcdef","url":"https://[::1]:80/","title":"\ud800"}`},
		{"text/plain", `[1,2]`},
		{"text/plain", `hello`},
		{"application/xml", `<x/>`},
		{"", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		ev, err := parseTrackPayload(ctype, body)
		if err != nil {
			if _, ok := err.(*problem); !ok {
				t.Fatalf("error %v is not a problem with a status", err)
			}
			return
		}
		if ev.Type != "pageview" && ev.Type != "identify" {
			t.Fatalf("type %q accepted", ev.Type)
		}
		if ev.VisitorID == "" || intake.VisitorID(ev.VisitorID) != ev.VisitorID {
			t.Fatalf("visitor id %q does not match the allowed pattern", ev.VisitorID)
		}
		if ev.ScreenWidth < 0 || ev.ScreenWidth > 100_000 {
			t.Fatalf("screen width %d", ev.ScreenWidth)
		}
		for _, v := range []struct {
			name, value string
			max         int
		}{
			{"url", ev.URL, maxTrackURL}, {"referrer", ev.Referrer, 3 * maxTrackURL}, {"title", ev.Title, maxTitle},
			{"email", ev.Email, 254}, {"phone", ev.Phone, 40}, {"name", ev.Name, 200},
			{"utm_source", ev.UTMSource, maxUTM}, {"utm_medium", ev.UTMMedium, maxUTM}, {"utm_campaign", ev.UTMCampaign, maxUTM},
			{"utm_term", ev.UTMTerm, maxUTM}, {"utm_content", ev.UTMContent, maxUTM}, {"clsr", ev.Clsr, maxUTM},
		} {
			if !utf8.ValidString(v.value) {
				t.Fatalf("%s %q is not valid UTF-8", v.name, v.value)
			}
			if n := utf8.RuneCountInString(v.value); n > v.max {
				t.Fatalf("%s has %d characters, limit %d", v.name, n, v.max)
			}
		}
		if ev.URL == "" || httpURL(ev.URL) == "" {
			t.Fatalf("url %q is not an http(s) address", ev.URL)
		}
		if ev.Referrer != "" && httpURL(ev.Referrer) == "" {
			t.Fatalf("referrer %q is not an http(s) address", ev.Referrer)
		}
	})
}
