package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"closr/handlers/intake"
)

// Limits on one tracker event.
const (
	maxTrackBody = 8 << 10
	maxTrackURL  = 2048
	maxTitle     = 300
	maxUTM       = 200
)

// trackEvent is a tracker event, parsed and checked: a page view or an
// identify call. UTM parameters and the clsr link token come from URL.
type trackEvent struct {
	APIKey      string
	Type        string // "pageview" or "identify"
	VisitorID   string
	URL         string
	Title       string
	Referrer    string // "" unless an http(s) URL
	ScreenWidth int
	Email       string // identify only, as sent (checked by the handler)
	Phone       string
	Name        string
	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMTerm     string
	UTMContent  string
	Clsr        string
}

// trackWire is the JSON t.js sends.
type trackWire struct {
	APIKey      string  `json:"api_key"`
	Type        string  `json:"type"`
	VisitorID   string  `json:"visitor_id"`
	URL         string  `json:"url"`
	Title       string  `json:"title"`
	Referrer    string  `json:"referrer"`
	ScreenWidth float64 `json:"screen_width"`
	// What a site passes to closr.identify, as it passed it: a phone is
	// often a number.
	Email scalar `json:"email"`
	Phone scalar `json:"phone"`
	Name  scalar `json:"name"`
}

// scalar is a JSON string, number or boolean read as text; null is "".
type scalar string

// UnmarshalJSON reads a string as itself and a number or boolean as written.
func (s *scalar) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		err := json.Unmarshal(b, &v)
		*s = scalar(v)
		return err
	case string(b) == "null":
		*s = ""
	case string(b) == "true" || string(b) == "false" || json.Valid(b) && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*s = scalar(b)
	default:
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeFor[string]()}
	}
	return nil
}

var errTrackType = &problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_type",
	Message: "Send tracker events as a JSON object with Content-Type text/plain or application/json (t.js uses text/plain)."}

var errTrackTooLarge = &problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
	Message: "A tracker event may be at most 8 KiB. Send one page view or identify call per request."}

// parseTrackPayload reads and checks one tracker event. It is pure: the same
// input always gives the same event or error, and it touches nothing else.
// When the event was read but fails validation (a 422), the returned event
// still holds the api_key sent, so the caller can check the key first.
func parseTrackPayload(contentType string, body []byte) (trackEvent, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil || !(mt == "text/plain" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")) {
		return trackEvent{}, errTrackType
	}
	if len(body) > maxTrackBody {
		return trackEvent{}, errTrackTooLarge
	}
	var w trackWire
	if err := json.Unmarshal(body, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			// Unmarshal fills the other fields before reporting this one.
			return trackEvent{APIKey: strings.TrimSpace(w.APIKey)}, &problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
				Message: fmt.Sprintf("%s must be a %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())),
				Fields:  map[string]string{typeErr.Field: "must be a " + jsonKind(typeErr.Type.Kind().String())}}
		}
		if errors.As(err, &typeErr) {
			return trackEvent{}, errUnreadable(`The tracker event must be a JSON object, like {"type":"pageview",...}.`)
		}
		return trackEvent{}, errUnreadable("The tracker event is not valid JSON: " + err.Error())
	}
	ev := trackEvent{
		APIKey:    strings.TrimSpace(w.APIKey),
		Type:      w.Type,
		VisitorID: intake.VisitorID(w.VisitorID),
		URL:       strings.TrimSpace(w.URL),
		Title:     clean(w.Title, maxTitle),
		Email:     clean(string(w.Email), 254),
		Phone:     clean(string(w.Phone), 40),
		Name:      clean(string(w.Name), 200),
	}
	if w.ScreenWidth >= 0 && w.ScreenWidth <= 100_000 && w.ScreenWidth == math.Trunc(w.ScreenWidth) {
		ev.ScreenWidth = int(w.ScreenWidth)
	}
	if ref := strings.TrimSpace(w.Referrer); len(ref) <= maxTrackURL {
		// After a tracked link, t.js sends the page it came from, token
		// and all: the token is never kept.
		if u, err := url.Parse(httpURL(ref)); err == nil && u.Host != "" {
			ev.Referrer = withoutParam(u, "clsr")
		}
	}
	errs := map[string]string{}
	if ev.Type != "pageview" && ev.Type != "identify" {
		errs["type"] = `Set type to "pageview" or "identify".`
	}
	if ev.VisitorID == "" {
		errs["visitor_id"] = "Send a visitor_id of 16 to 64 letters, digits, - or _ (t.js makes one)."
	}
	u, err := url.Parse(ev.URL)
	switch {
	case ev.URL == "":
		errs["url"] = "Send the page's address in url."
	case len(ev.URL) > maxTrackURL:
		errs["url"] = fmt.Sprintf("Keep url to %d characters or fewer.", maxTrackURL)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs["url"] = "Send the page's full http(s) address in url, like https://example.com/listings."
	default:
		q := u.Query()
		ev.UTMSource, ev.UTMMedium = clean(q.Get("utm_source"), maxUTM), clean(q.Get("utm_medium"), maxUTM)
		ev.UTMCampaign, ev.UTMTerm = clean(q.Get("utm_campaign"), maxUTM), clean(q.Get("utm_term"), maxUTM)
		ev.UTMContent, ev.Clsr = clean(q.Get("utm_content"), maxUTM), clean(q.Get("clsr"), maxUTM)
		// The token identifies a lead: it is kept (hashed) with its link,
		// never in the page's address.
		ev.URL = withoutParam(u, "clsr")
	}
	if len(errs) > 0 {
		return trackEvent{APIKey: ev.APIKey}, intakeProblem(intake.InvalidFields(errs))
	}
	return ev, nil
}

// clean trims a value, repairs bad UTF-8 and cuts it to n characters.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}

// jsonKind names a Go kind the way a JSON sender thinks of it.
func jsonKind(kind string) string {
	if kind == "string" {
		return "string"
	}
	return "number"
}

// withoutParam is u without the query parameter name, the rest of the
// query as it was sent.
func withoutParam(u *url.URL, name string) string {
	if u.RawQuery == "" {
		return u.String()
	}
	kept := ""
	for _, pair := range strings.Split(u.RawQuery, "&") {
		if k, _, _ := strings.Cut(pair, "="); k == name {
			continue
		}
		if kept != "" {
			kept += "&"
		}
		kept += pair
	}
	v := *u
	v.RawQuery = kept
	return v.String()
}
