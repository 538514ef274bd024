package handlers

import (
	"cmp"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"closr/store"
	"closr/views"
)

// integrationsPage is Settings → Integrations, with what a plain form post
// that redirected here carried (see carried).
func (s *Server) integrationsPage(c echo.Context) error {
	sess := sessionOf(c)
	m, ok := takeCarried(sess)
	if !ok {
		return s.renderPage(c, http.StatusOK, nil, nil)
	}
	keys, err := s.keysCard(c)
	var tracker views.TrackerCard
	if err == nil {
		tracker, err = s.trackerCard(c)
	}
	if err != nil {
		if m.New == nil {
			return err // a notice is not worth a broken page: the next load shows it
		}
		// The key exists, and this page is the only place it can ever be
		// shown: show it, even without the rest.
		s.logOf(c).Error("load the integrations page after generating a key", "err", err)
		keys, tracker = keysUnlisted(c), views.TrackerCard{BaseURL: baseURL(c)}
	}
	keys.New = m.New
	keys.Notice = cmp.Or(m.KeyNotice, keys.Notice)
	tracker.Notice = m.TrackerNotice
	// Shown once: a reload shows the page without them.
	if err := s.saveSession(c, sess); err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, &keys, &tracker)
}

// renderPage renders the whole Integrations page; a card the action did
// not change (nil) is loaded fresh.
func (s *Server) renderPage(c echo.Context, status int, keys *views.KeysCard, tracker *views.TrackerCard) error {
	if keys == nil {
		k, err := s.keysCard(c)
		if err != nil {
			return err
		}
		keys = &k
	}
	if tracker == nil {
		t, err := s.trackerCard(c)
		if err != nil {
			return err
		}
		tracker = &t
	}
	in := views.Integrations{Keys: *keys, Tracker: *tracker, BaseURL: baseURL(c)}
	if keys.Lists.Manage {
		var err error
		if in.Rotation, err = s.rotation(c.Request().Context(), agentOf(c).TeamID); err != nil {
			return err
		}
	}
	return render(c, status, views.IntegrationsPage(page(c, "Integrations", "integrations"), in))
}

// recentActivity is how many lines of the team's audit trail the API keys
// card shows; the rest is on the activity page.
const recentActivity = 8

// expiryNotice is how long before a key expires its owners are told.
const expiryNotice = 7 * 24 * time.Hour

// keysCard loads the signed-in agent's team's keys, their use and the
// team's latest activity.
func (s *Server) keysCard(c echo.Context) (views.KeysCard, error) {
	lists, err := s.keyLists(c)
	if err != nil {
		return views.KeysCard{}, err
	}
	events, err := s.store.TeamEvents(c.Request().Context(), agentOf(c).TeamID, store.EventFilter{Limit: recentActivity})
	if err != nil {
		return views.KeysCard{}, err
	}
	card := views.KeysCard{Lists: lists, Max: store.MaxActiveKeys, Limited: len(lists.Keys) >= store.MaxActiveKeys, BaseURL: baseURL(c),
		Events: activityRows(events)}
	for _, k := range lists.Keys {
		if !k.ExpiresAt.IsZero() && k.ReplacedBy == nil && k.ExpiresAt.Sub(s.now()) <= expiryNotice {
			card.Expiring = append(card.Expiring, k)
		}
	}
	return card, nil
}

// keyLists loads the active keys with their last 30 days, and the keys
// revoked or expired lately.
func (s *Server) keyLists(c echo.Context) (views.KeyLists, error) {
	ctx, a, now := c.Request().Context(), agentOf(c), s.now()
	keys, err := s.store.APIKeys(ctx, a.TeamID)
	if err != nil {
		return views.KeyLists{}, err
	}
	ended, err := s.store.EndedKeys(ctx, a.TeamID)
	if err != nil {
		return views.KeyLists{}, err
	}
	usage, err := s.store.KeyUsage(ctx, a.TeamID, 0, usageSince(now))
	if err != nil {
		return views.KeyLists{}, err
	}
	l := views.KeyLists{Manage: store.CanManage(a.Role), CSRF: csrfToken(c)}
	byID := map[int64]store.APIKey{}
	for _, k := range keys {
		byID[k.ID] = k
	}
	for _, k := range keys {
		row := keyRow(k, usage[k.ID], now)
		if r, ok := byID[k.ReplacedBy]; ok {
			row.ReplacedBy = &views.KeyRef{ID: r.ID, Label: r.Label}
			row.ReplacementUsed = !r.FirstUsedAt.IsZero()
		}
		l.Keys = append(l.Keys, row)
	}
	for _, e := range ended {
		l.Ended = append(l.Ended, views.EndedKeyRow{Key: keyRow(e.APIKey, usage[e.ID], now), Refused: e.Refused})
	}
	return l, nil
}

// usageDays is how many days of use the pages show.
const usageDays = 30

// usageSince is the first day shown: today and the 29 before, in UTC.
func usageSince(now time.Time) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-usageDays)
}

func keyRow(k store.APIKey, days []store.DayUsage, now time.Time) views.KeyRow {
	r := views.KeyRow{ID: k.ID, Label: k.Label, Preview: k.Preview, Access: k.Access, CreatedBy: k.CreatedByName,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsed: k.LastUsedAt, LastFrom: k.LastUsedFrom,
		Usage: usageOf(days, now), Ended: k.EndedAt(now), Revoked: !k.RevokedAt.IsZero(), RevokedBy: k.RevokedByName,
		First: views.FirstUse{At: k.FirstUsedAt, What: useName(k.FirstUsedKind), From: k.FirstUsedFrom, TestedAt: k.TestedAt}}
	return r
}

// usageOf adds up a key's days and fills in the days without use.
func usageOf(days []store.DayUsage, now time.Time) views.Usage {
	var u views.Usage
	since := usageSince(now)
	u.Days = make([]views.DayUsage, usageDays)
	for i := range u.Days {
		u.Days[i].Day = since.AddDate(0, 0, i)
	}
	for _, d := range days {
		i := int(d.Day.Sub(since) / (24 * time.Hour))
		if i < 0 || i >= usageDays {
			continue
		}
		u.Days[i] = views.DayUsage{Day: d.Day, LeadsCreated: d.LeadsCreated, LeadsUpdated: d.LeadsUpdated, PageViews: d.PageViews,
			MCPCalls: d.MCPCalls, RefusedOrigin: d.RefusedOrigin, RefusedRate: d.RefusedRate, RefusedRevoked: d.RefusedRevoked}
		u.LeadsCreated += d.LeadsCreated
		u.LeadsUpdated += d.LeadsUpdated
		u.PageViews += d.PageViews
		u.MCPCalls += d.MCPCalls
		u.RefusedOrigin += d.RefusedOrigin
		u.RefusedRate += d.RefusedRate
		u.RefusedRevoked += d.RefusedRevoked
	}
	return u
}

// useName is what a request came to, in a word or two, as the status of a
// new key says it ("First lead from …").
func useName(k store.UseKind) string {
	switch k {
	case store.UseLeadCreated, store.UseLeadUpdated:
		return "lead"
	case store.UsePageView:
		return "page view"
	case store.UseIdentify:
		return "tracker event"
	case store.UseMCPCall:
		return "MCP call"
	}
	return "request"
}

// outcomeName is what a request came to, as a key's recent requests say.
func outcomeName(r store.KeyRequest) string {
	switch r.Kind {
	case store.UseLeadCreated:
		if r.Test {
			return "test lead"
		}
		return "new lead"
	case store.UseLeadUpdated:
		return "lead updated"
	case store.UsePageView:
		return "page view"
	case store.UseIdentify:
		return "visitor identified"
	case store.UseMCPCall:
		return "MCP tool call"
	case store.UseRefusedOrigin:
		return "refused: site not in tracked domains"
	case store.UseRefusedRate:
		return "refused: rate limit"
	case store.UseRefusedRevoked:
		return "refused: key revoked or expired"
	}
	if why, ok := refusedWhy[r.Status]; ok {
		return "refused: " + why
	}
	switch {
	case r.Status >= 500:
		return "not stored: server or storage trouble"
	case r.Status >= 400:
		return "refused"
	}
	return "answered"
}

// refusedWhy says why a request with a known key was refused, by status,
// for the refusals the kinds do not name.
var refusedWhy = map[int]string{
	http.StatusBadRequest:            "unreadable body",
	http.StatusForbidden:             "not allowed from there",
	http.StatusRequestEntityTooLarge: "too large",
	http.StatusUnsupportedMediaType:  "content type",
	http.StatusUnprocessableEntity:   "fields to fix",
}

// renderIntegrations answers with the card alone to HTMX and with the whole
// page to a plain form post.
func (s *Server) renderIntegrations(c echo.Context, status int, card views.KeysCard) error {
	if isHTMX(c) {
		return render(c, status, views.APIKeysCard(csrfToken(c), card))
	}
	return s.renderPage(c, status, &card, nil)
}

// keyListsLive is the key lists alone, which the page asks for every few
// seconds.
func (s *Server) keyListsLive(c echo.Context) error {
	l, err := s.keyLists(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.KeyListsPart(l))
}

// baseURL is this server's own address as the browser reached it.
func baseURL(c echo.Context) string { return c.Scheme() + "://" + c.Request().Host }
