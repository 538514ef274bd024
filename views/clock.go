package views

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// Clock is how a page shows times and phone numbers to the agent reading
// it: in their time zone, relative within the last day ("12 min ago"),
// dates in their locale's order after that, and phone numbers as their
// country writes them. Handlers put it in the context once per page, so
// every component (HTMX partials included) formats alike without each
// struct carrying it.
type Clock struct {
	Now    time.Time
	Zone   *time.Location // nil is UTC
	Locale Locale
	// Region is the agent's country (ISO 3166): their numbers are shown
	// in national form, others in international form.
	Region string
}

type clockKey struct{}

// WithClock returns ctx carrying c for the components rendered with it.
func WithClock(ctx context.Context, c Clock) context.Context {
	return context.WithValue(ctx, clockKey{}, c)
}

// clockOf is the clock in ctx; without one, now in UTC in US English.
func clockOf(ctx context.Context) Clock {
	c, ok := ctx.Value(clockKey{}).(Clock)
	if !ok {
		c = Clock{Now: time.Now(), Region: "US"}
	}
	if c.Zone == nil {
		c.Zone = time.UTC
	}
	if c.Locale.style == nil {
		c.Locale = ParseLocale("")
	}
	return c
}

// Locale is the agent's way of writing dates, from their browser's
// Accept-Language.
type Locale struct {
	style  *dateStyle
	region string // the region the browser named, "" when it named none
}

// Region is the country the browser's language names (en-GB: GB), or "".
func (l Locale) Region() string { return l.region }

// dateStyle is a locale's date and time layouts (Go reference time).
type dateStyle struct {
	short string // this year: "Jan 2, 3:04 PM"
	long  string // another year
	full  string // the exact time, in a tooltip
}

var (
	styleUS    = &dateStyle{"Jan 2, 3:04 PM", "Jan 2, 2006, 3:04 PM", "Monday, January 2, 2006 at 3:04:05 PM MST"}
	styleGB    = &dateStyle{"2 Jan, 15:04", "2 Jan 2006, 15:04", "Monday 2 January 2006 at 15:04:05 MST"}
	styleDot   = &dateStyle{"02.01., 15:04", "02.01.2006, 15:04", "02.01.2006, 15:04:05 MST"}
	styleSlash = &dateStyle{"02/01 15:04", "02/01/2006 15:04", "02/01/2006 15:04:05 MST"}
	styleYMD   = &dateStyle{"01/02 15:04", "2006/01/02 15:04", "2006/01/02 15:04:05 MST"}
	styleISO   = &dateStyle{"01-02 15:04", "2006-01-02 15:04", "2006-01-02 15:04:05 MST"}
)

// locales are the languages whose date order is known; any other is
// matched to the closest (US English when none is close).
var locales = []struct {
	tag   language.Tag
	style *dateStyle
}{
	{language.AmericanEnglish, styleUS},
	{language.MustParse("en-CA"), styleUS},
	{language.BritishEnglish, styleGB}, // also Australia, India, Ireland…
	{language.German, styleDot},
	{language.French, styleSlash},
	{language.Spanish, styleSlash},
	{language.Italian, styleSlash},
	{language.Portuguese, styleSlash},
	{language.Japanese, styleYMD},
	{language.Chinese, styleYMD},
	{language.Korean, styleYMD},
	{language.Swedish, styleISO},
}

var localeMatcher = func() language.Matcher {
	tags := make([]language.Tag, len(locales))
	for i, l := range locales {
		tags[i] = l.tag
	}
	return language.NewMatcher(tags)
}()

// ParseLocale reads an Accept-Language header.
func ParseLocale(acceptLanguage string) Locale {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil { // one tag it does not know spoils the whole header: take the others
		tags = nil
		for _, part := range strings.Split(acceptLanguage, ",") {
			tag, _, _ := strings.Cut(part, ";")
			if t, err := language.Parse(strings.TrimSpace(tag)); err == nil {
				tags = append(tags, t)
			}
		}
	}
	_, i, _ := localeMatcher.Match(tags...)
	l := Locale{style: locales[i].style}
	if len(tags) > 0 {
		if r, conf := tags[0].Region(); conf == language.Exact {
			l.region = r.String()
		}
	}
	return l
}

// timeText is what a page shows for t: "just now", "12 min ago", "5 hours
// ago" within the last day, else the date and time in the agent's zone
// (without the year when it is this year's); "Never" for the zero time.
func (c Clock) timeText(t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	if c.isRecent(t) {
		return relative(c.Now.Sub(t))
	}
	return c.dateText(t)
}

// isRecent reports whether t is shown relative: within the last day (or a
// minute ahead, for clocks a little apart).
func (c Clock) isRecent(t time.Time) bool {
	ago := c.Now.Sub(t)
	return ago < 24*time.Hour && ago > -time.Minute
}

// nowMillis is the page's now in Unix milliseconds: app.js keeps relative
// times current from it, whatever the browser's own clock says.
func nowMillis(ctx context.Context) string {
	return strconv.FormatInt(clockOf(ctx).Now.UnixMilli(), 10)
}

// relative says how long ago, for less than a day.
func relative(ago time.Duration) string {
	switch {
	case ago < time.Minute:
		return "just now"
	case ago < time.Hour:
		return fmt.Sprintf("%d min ago", int(ago/time.Minute))
	case ago < 2*time.Hour:
		return "1 hour ago"
	}
	return fmt.Sprintf("%d hours ago", int(ago/time.Hour))
}

// exactTime is t to the second in the agent's zone, with the zone's name.
func (c Clock) exactTime(t time.Time) string { return t.In(c.Zone).Format(c.Locale.style.full) }

// dateText is t's date and time in the agent's zone and locale, without
// the year when it is this year's.
func (c Clock) dateText(t time.Time) string {
	local := t.In(c.Zone)
	if local.Year() == c.Now.In(c.Zone).Year() {
		return local.Format(c.Locale.style.short)
	}
	return local.Format(c.Locale.style.long)
}

// isoIn is t for a datetime attribute, with the agent's zone offset.
func (c Clock) isoIn(t time.Time) string { return t.In(c.Zone).Format(time.RFC3339) }

// phoneText is an E.164 number as the agent's country writes it: national
// form for their own country's numbers, international for others.
func (c Clock) phoneText(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	if phonenumbers.GetRegionCodeForNumber(n) == strings.ToUpper(c.Region) {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// durationText is a visit's length: "under a minute", "4 min", "1 h 20 min".
func durationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d%time.Hour < time.Minute:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
