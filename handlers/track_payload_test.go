package handlers

import (
	"strings"
	"testing"
)

func TestParseTrackPayloadExtractsFromURL(t *testing.T) {
	t.Parallel()
	body := `{"api_key":" closr_x ","type":"pageview","visitor_id":"0123456789abcdef0123456789abcdef",
		"url":"https://sunset.example/homes?utm_source=facebook&utm_medium=cpc&utm_campaign=spring&utm_term=condo&utm_content=ad1&clsr=tok123",
		"title":"` + strings.Repeat("t", 400) + `","referrer":"javascript:alert(1)","screen_width":1280.5,"extra":"ignored"}`
	ev, err := parseTrackPayload("text/plain;charset=UTF-8", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := trackEvent{APIKey: "closr_x", Type: "pageview", VisitorID: "0123456789abcdef0123456789abcdef",
		URL:   "https://sunset.example/homes?utm_source=facebook&utm_medium=cpc&utm_campaign=spring&utm_term=condo&utm_content=ad1", // the token is never kept in the address
		Title: strings.Repeat("t", maxTitle), UTMSource: "facebook", UTMMedium: "cpc", UTMCampaign: "spring",
		UTMTerm: "condo", UTMContent: "ad1", Clsr: "tok123"}
	if ev != want {
		t.Fatalf("got  %+v\nwant %+v", ev, want)
	}
	ev, err = parseTrackPayload("application/json", []byte(`{"type":"pageview","visitor_id":"0123456789abcdef","url":"http://a.example/","referrer":"https://www.google.com/","screen_width":390}`))
	if err != nil || ev.Referrer != "https://www.google.com/" || ev.ScreenWidth != 390 {
		t.Fatalf("got %+v, %v", ev, err)
	}
}

// closr.identify sends what the site passed: a phone is often a number.
func TestParseTrackPayloadIdentifyScalars(t *testing.T) {
	t.Parallel()
	ev, err := parseTrackPayload("text/plain", []byte(`{"api_key":"closr_x","type":"identify","visitor_id":"0123456789abcdef0123456789abcdef",
		"url":"https://sunset.example/","phone":5551234567,"email":null,"name":"Jo","extra":{"ignored":true}}`))
	if err != nil || ev.Phone != "5551234567" || ev.Email != "" || ev.Name != "Jo" {
		t.Fatalf("got %+v, %v; want the number's digits as the phone", ev, err)
	}
	if _, err := parseTrackPayload("text/plain", []byte(`{"api_key":"closr_x","type":"identify","visitor_id":"0123456789abcdef0123456789abcdef",
		"url":"https://sunset.example/","phone":{"n":1}}`)); err == nil || !strings.Contains(err.Error(), "phone must be a string") {
		t.Fatalf("an object as the phone: %v", err)
	}
}
