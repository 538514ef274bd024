package handlers

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"time"

	"closr/store"
	"closr/views"
)

// mostViewed is how many of the pages a lead viewed more than once its
// page summarises at the top.
const mostViewed = 3

// story groups a lead's page views (oldest first) into visits, newest
// first, and picks the pages viewed most. A visit is one visitor's run of
// views less than store.VisitGap apart, as the list counts them; a lead
// with a phone and a laptop has visits from both. visits is how many the
// lead made in all, so that visits keep their numbers when only the latest
// views are shown; contact is when the person first got in touch.
func story(seen []store.ViewedPage, visits int, contact time.Time) ([]views.Visit, []views.PageCount) {
	names := pageNames(seen)
	var out []views.Visit
	open := map[int64]int{} // visitor → index of their latest visit in out
	type tally struct {
		views.PageCount
		last   int // the visit it was last viewed in
		latest int // the index of its latest view
	}
	pages := map[string]*tally{}
	for i, pv := range seen {
		vi, ok := open[pv.VisitorID]
		if !ok || pv.At.Sub(out[vi].End) >= store.VisitGap {
			out = append(out, views.Visit{Start: pv.At, Referrer: referrerOf(pv), Campaign: campaignOf(pv)})
			vi = len(out) - 1
			open[pv.VisitorID] = vi
		}
		v := &out[vi]
		v.End, v.Views = pv.At, v.Views+1
		key, name := pageKey(pv.URL), names[pv.Title]
		if name == "" {
			name = pathName(pv.URL)
		}
		v.Opened = append(v.Opened, views.PageView{At: pv.At, Name: name, URL: pv.URL})
		if j := slices.IndexFunc(v.Pages, func(p views.PageCount) bool { return p.URL == key }); j >= 0 {
			v.Pages[j].Views++
		} else {
			v.Pages = append(v.Pages, views.PageCount{Name: name, URL: key, Views: 1})
		}
		t := pages[key]
		if t == nil {
			t = &tally{PageCount: views.PageCount{Name: name, URL: key}, last: -1}
			pages[key] = t
		}
		t.Views++
		if t.last != vi {
			t.Visits, t.last = t.Visits+1, vi
		}
		t.latest = i
	}
	// Visits started in time order: one visitor's may interleave another's.
	slices.SortStableFunc(out, func(a, b views.Visit) int { return a.Start.Compare(b.Start) })
	first := max(visits-len(out), 0)
	for i := range out {
		out[i].N = first + i + 1
		out[i].Moment = momentOf(out[i], contact)
	}
	slices.Reverse(out)

	var top []*tally
	for _, t := range pages {
		if t.Views > 1 {
			top = append(top, t)
		}
	}
	slices.SortFunc(top, func(a, b *tally) int {
		return cmp.Or(cmp.Compare(b.Views, a.Views), cmp.Compare(b.latest, a.latest))
	})
	var most []views.PageCount
	for _, t := range top[:min(len(top), mostViewed)] {
		most = append(most, t.PageCount)
	}
	return out, most
}

// momentOf places a visit next to the person's first enquiry: one sent
// less than store.VisitGap after the visit's last page was sent on that
// visit (the form was on it). Times are kept to the second, and a page
// viewed in the same second as the enquiry counts as before it.
func momentOf(v views.Visit, contact time.Time) views.Moment {
	switch {
	case v.Start.After(contact):
		return views.AfterContact
	case contact.Sub(v.End) < store.VisitGap:
		return views.AtContact
	}
	return views.BeforeContact
}

// titleSeparators end a page title's own words before the site's name:
// "7 Harbor Ln | Sunset Realty".
var titleSeparators = []string{" | ", " - ", " – ", " — ", " · "}

// pageNames names each page title as the lead page shows it: without the
// site's name, when two or more different titles end with the same one.
func pageNames(seen []store.ViewedPage) map[string]string {
	suffixes := map[string]map[string]bool{} // site name → titles ending with it
	for _, pv := range seen {
		if _, site, ok := splitTitle(pv.Title); ok {
			if suffixes[site] == nil {
				suffixes[site] = map[string]bool{}
			}
			suffixes[site][pv.Title] = true
		}
	}
	names := map[string]string{}
	for _, pv := range seen {
		name := strings.TrimSpace(pv.Title)
		if own, site, ok := splitTitle(pv.Title); ok && len(suffixes[site]) > 1 {
			name = own
		}
		names[pv.Title] = name
	}
	return names
}

// splitTitle cuts a title at its last separator.
func splitTitle(title string) (own, site string, ok bool) {
	at, sep := -1, ""
	for _, s := range titleSeparators {
		if i := strings.LastIndex(title, s); i > at {
			at, sep = i, s
		}
	}
	if at <= 0 {
		return "", "", false
	}
	own, site = strings.TrimSpace(title[:at]), strings.TrimSpace(title[at+len(sep):])
	return own, site, own != "" && site != ""
}

// pageKey is a page's address without what does not change the page:
// campaign parameters and the fragment.
func pageKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for name := range q {
		if strings.HasPrefix(name, "utm_") || name == "gclid" || name == "fbclid" {
			q.Del(name)
		}
	}
	u.RawQuery, u.Fragment = q.Encode(), ""
	return u.String()
}

// pathName names a page without a title by its path.
func pathName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" || u.Path == "/" {
		return "Home page"
	}
	return u.Path
}

// referrerOf is the site that sent the visitor to a visit's first page,
// or "" when it was none or the agent's own site.
func referrerOf(pv store.ViewedPage) string {
	ref, err := url.Parse(pv.Referrer)
	if err != nil || ref.Host == "" {
		return ""
	}
	page, _ := url.Parse(pv.URL)
	host := strings.TrimPrefix(ref.Hostname(), "www.")
	if page != nil && strings.TrimPrefix(page.Hostname(), "www.") == host {
		return ""
	}
	return host
}

// campaignOf is the UTM campaign of a visit's first page, with its source
// and medium: "spring-open-house (facebook / cpc)".
func campaignOf(pv store.ViewedPage) string {
	var via []string
	for _, v := range []string{pv.UTMSource, pv.UTMMedium} {
		if v != "" {
			via = append(via, v)
		}
	}
	switch {
	case pv.UTMCampaign == "" && len(via) == 0:
		return ""
	case pv.UTMCampaign == "":
		return strings.Join(via, " / ")
	case len(via) == 0:
		return pv.UTMCampaign
	}
	return pv.UTMCampaign + " (" + strings.Join(via, " / ") + ")"
}
