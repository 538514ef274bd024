package views

import (
	"testing"
	"time"
)

func TestClockShowsTimesAsTheAgentReadsThem(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 5, 52, 0, 0, time.UTC) // Nov 28, 9:52 PM in Los Angeles
	us := Clock{Now: now, Zone: la, Locale: ParseLocale("en-US,en;q=0.9")}
	gb := Clock{Now: now, Zone: la, Locale: ParseLocale("en-GB")}
	de := Clock{Now: now, Zone: time.UTC, Locale: ParseLocale("de-CH, de;q=0.9")}
	for _, tc := range []struct {
		c    Clock
		at   time.Time
		want string
	}{
		{us, now, "just now"},
		{us, now.Add(-59 * time.Second), "just now"},
		{us, now.Add(-12 * time.Minute), "12 min ago"},
		{us, now.Add(-90 * time.Minute), "1 hour ago"},
		{us, now.Add(-23*time.Hour - 59*time.Minute), "23 hours ago"},
		{us, now.Add(30 * time.Second), "just now"}, // a clock a little ahead
		// A day or more: the date in the agent's zone. 05:52 UTC on the
		// 28th is still the 27th in Los Angeles.
		{us, now.Add(-24 * time.Hour), "Nov 27, 9:52 PM"},
		{gb, now.Add(-24 * time.Hour), "27 Nov, 21:52"},
		{de, now.Add(-24 * time.Hour), "28.11., 05:52"},
		{us, time.Date(2025, 3, 1, 17, 0, 0, 0, time.UTC), "Mar 1, 2025, 9:00 AM"},
		{us, time.Time{}, "Never"},
	} {
		if got := tc.c.timeText(tc.at); got != tc.want {
			t.Errorf("%v at %v: %q, want %q", tc.c.Locale.style.short, tc.at, got, tc.want)
		}
	}
	if got := us.exactTime(now.Add(-12 * time.Minute)); got != "Saturday, November 28, 2026 at 9:40:00 PM PST" {
		t.Errorf("exact time %q", got)
	}
	if got := us.isoIn(now); got != "2026-11-28T21:52:00-08:00" {
		t.Errorf("datetime %q", got)
	}
}

func TestParseLocale(t *testing.T) {
	for _, tc := range []struct {
		header, short, region string
	}{
		{"", styleUS.short, ""},
		{"en-US,en;q=0.9", styleUS.short, "US"},
		{"en-AU", styleGB.short, "AU"},
		{"fr-CA,fr;q=0.8", styleSlash.short, "CA"},
		{"ja", styleYMD.short, ""},
		{"xx-YY;q=0.5, de", styleDot.short, ""},
		{"not a header ;;;", styleUS.short, ""},
	} {
		l := ParseLocale(tc.header)
		if l.style.short != tc.short || l.Region() != tc.region {
			t.Errorf("%q: %q %q, want %q %q", tc.header, l.style.short, l.Region(), tc.short, tc.region)
		}
	}
}

func TestPhoneText(t *testing.T) {
	us, gb := Clock{Region: "US"}, Clock{Region: "gb"}
	for _, tc := range []struct {
		c          Clock
		e164, want string
	}{
		{us, "+14155552671", "(415) 555-2671"},
		{us, "+442079460958", "+44 20 7946 0958"},
		{gb, "+442079460958", "020 7946 0958"},
		{gb, "+14155552671", "+1 415-555-2671"},
		{us, "not a number", "not a number"},
	} {
		if got := tc.c.phoneText(tc.e164); got != tc.want {
			t.Errorf("%s for %s: %q, want %q", tc.e164, tc.c.Region, got, tc.want)
		}
	}
}

func TestHumanName(t *testing.T) {
	for in, want := range map[string]string{
		"pre_approved":       "Pre approved",
		"preApproved":        "Pre approved",
		"budget-max":         "Budget max",
		"Move in date":       "Move in date",
		"ZIP":                "ZIP",
		"property_ZIP_code":  "Property ZIP code",
		"  spaced__out  ":    "Spaced out",
		"ünterschrift_datum": "Ünterschrift datum",
		"x":                  "X",
		"":                   "",
	} {
		if got := HumanName(in); got != want {
			t.Errorf("HumanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLeadTitle(t *testing.T) {
	c := Clock{Region: "US"}
	for _, tc := range []struct {
		l    LeadRow
		want string
	}{
		{LeadRow{ID: 7, Name: "Jamie", Email: "j@example.com"}, "Jamie"},
		{LeadRow{ID: 7, Email: "j@example.com", Phone: "+14155552671"}, "j@example.com"},
		{LeadRow{ID: 7, Phone: "+14155552671"}, "(415) 555-2671"},
		{LeadRow{ID: 7}, "Lead #7"},
	} {
		if got := LeadTitle(tc.l, c); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.l, got, tc.want)
		}
	}
}
