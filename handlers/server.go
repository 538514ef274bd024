// Package handlers is Closr's HTTP server: routes, middleware and one file
// per resource. It holds the store behind the small interfaces below.
package handlers

import (
	"cmp"
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"closr/handlers/intake"
	"closr/store"
)

// AccountStore is what sign-up, login, sessions and the profile need.
type AccountStore interface {
	CreateTeamWithOwner(ctx context.Context, team string, owner store.NewAgent) (store.Agent, error)
	AgentByEmail(ctx context.Context, email string) (store.Agent, error)
	CreateSession(ctx context.Context, agentID int64, rules store.SessionRules) (string, error)
	SessionAgent(ctx context.Context, token string, rules store.SessionRules) (store.Agent, error)
	DeleteSession(ctx context.Context, token string) error
	DeleteAgentSessions(ctx context.Context, agentID int64) error
	UpdateProfile(ctx context.Context, agentID int64, name, email, timeZone string) error
	SetPassword(ctx context.Context, agentID int64, passwordHash []byte, keepSession string) error
}

// TeamStore is what the Team page, invitations and the audit trail need.
type TeamStore interface {
	Members(ctx context.Context, teamID int64) ([]store.Member, error)
	ChangeRole(ctx context.Context, teamID, id, by int64, role string) (store.Member, error)
	RemoveAgent(ctx context.Context, teamID, id, by int64) (store.Member, error)
	LeaveTeam(ctx context.Context, teamID, id int64) (store.Member, error)
	DepartedKeys(ctx context.Context, teamID int64) ([]store.DepartedKey, error)
	CreateInvitation(ctx context.Context, teamID, by int64, email, role string) (store.Invitation, string, error)
	OpenInvitations(ctx context.Context, teamID int64) ([]store.Invitation, error)
	Invitation(ctx context.Context, token string) (store.Invitation, error)
	CancelInvitation(ctx context.Context, teamID, id, by int64) (store.Invitation, error)
	AcceptInvitation(ctx context.Context, token string, a store.NewAgent) (store.Agent, error)
	TeamEvents(ctx context.Context, teamID int64, f store.EventFilter) ([]store.TeamEvent, error)
}

// Mailer sends mail after the fact; Send queues and never blocks or fails
// the request (see package mailer).
type Mailer interface {
	Send(to []string, subject, body string)
}

// KeyStore is what the API keys card, the key pages and key checks need.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, teamID, agentID int64, label, access string, lifetimeDays int) (store.APIKey, string, error)
	APIKeys(ctx context.Context, teamID int64) ([]store.APIKey, error)
	APIKey(ctx context.Context, teamID, id int64) (store.APIKey, error)
	EndedKeys(ctx context.Context, teamID int64) ([]store.EndedKey, error)
	RevokeAPIKey(ctx context.Context, teamID, keyID, agentID int64) (store.APIKey, error)
	RotateAPIKey(ctx context.Context, teamID, keyID, agentID int64, label string) (old, repl store.APIKey, key string, err error)
	ExpireAPIKey(ctx context.Context, teamID, keyID, agentID int64, at time.Time) (store.APIKey, error)
	RenameAPIKey(ctx context.Context, teamID, keyID, agentID int64, label string) (store.APIKey, error)
	APIKeyByHash(ctx context.Context, hash [32]byte) (store.APIKey, error)
	KeyActiveNow(ctx context.Context, keyID int64) (bool, error)
	RecordUse(u store.Use)
	KeyUsage(ctx context.Context, teamID, keyID int64, since time.Time) (map[int64][]store.DayUsage, error)
	KeyRequests(ctx context.Context, teamID, keyID int64) ([]store.KeyRequest, error)
	ExpiringKeys(ctx context.Context, within time.Duration) ([]store.APIKey, error)
	ClaimExpiryNotices(ctx context.Context, keyIDs []int64) ([]int64, error)
}

// LeadStore is what inbound leads and the pipeline views need.
type LeadStore interface {
	IngestLead(ctx context.Context, in store.LeadInput) (store.IngestResult, error)
	Leads(ctx context.Context, teamID int64, text string, r store.LeadRange) ([]store.Lead, error)
	CountLeads(ctx context.Context, teamID int64, text string, f store.LeadFilter, upTo int) (n int, atLeast bool, err error)
	Lead(ctx context.Context, teamID, id int64) (store.Lead, error)
	LeadSubmissions(ctx context.Context, teamID, leadID, before int64, limit int) (store.SubmissionPage, error)
	SubmissionRaw(ctx context.Context, teamID, leadID, id int64, max int) (store.RawBody, error)
	NewTrackedLink(ctx context.Context, teamID, leadID, agentID, keyID int64, url string) (store.TrackedLink, string, error)
	TrackedLinks(ctx context.Context, teamID, leadID int64, limit int) ([]store.TrackedLink, error)
	TestLeads(ctx context.Context, teamID int64) (int, error)
	DeleteTestLead(ctx context.Context, teamID, leadID int64) (store.Lead, error)
}

// TrackerStore is what the web tracker, its settings card and the lead
// views' page-view history need.
type TrackerStore interface {
	RecordPageView(ctx context.Context, in store.PageViewInput) error
	Identify(ctx context.Context, in store.IdentifyInput) (int64, error)
	TrackedDomains(ctx context.Context, teamID int64) ([]store.TrackedDomain, error)
	AddTrackedDomain(ctx context.Context, teamID int64, domain string) (store.TrackedDomain, error)
	RemoveTrackedDomain(ctx context.Context, teamID, id int64) (store.TrackedDomain, error)
	TrackerStats(ctx context.Context, teamID int64, now time.Time) (store.TrackerStats, error)
	AnonymousVisitors(ctx context.Context, teamID int64, limit int) ([]store.AnonymousVisitor, error)
	VisitsOfLeads(ctx context.Context, teamID int64, leadIDs []int64) (map[int64]int, error)
	PagesViewedByLead(ctx context.Context, teamID, leadID int64, limit int) ([]store.ViewedPage, int, error)
}

// Store is every storage capability the server uses.
type Store interface {
	AccountStore
	TeamStore
	KeyStore
	LeadStore
	MCPStore
	TrackerStore
	Ping(ctx context.Context) error
}

// Config is how cmd/closr sets up the server.
type Config struct {
	Store      Store
	Static     fs.FS        // the static/ folder
	SessionKey []byte       // secret the session cookie keys are derived from
	Logger     *slog.Logger // request and error logs; never given a secret
	// PasswordCost lowers the password hash's memory cost in tests; 0 is the
	// production setting.
	PasswordCost int
	// Now is the clock; the store must be given the same one. nil means
	// time.Now.
	Now func() time.Time
	// PhoneRegion is the region assumed for phone numbers sent without a
	// country code (ISO 3166 code); "" means US.
	PhoneRegion string
	// LoginLimit is how many failed logins an account may have from one
	// address in 15 minutes (an address gets four times as many over all
	// accounts; see loginThrottle); 0 means 5.
	LoginLimit int
	// SignupLimit is how many sign-ups an IP may make in an hour; 0 means 10.
	SignupLimit int
	// LimitKey and LimitIP are the API's requests per second per key and
	// per client IP (bursts of four seconds' worth); 0 turns a limit off.
	// cmd/closr defaults them to DefaultKeyRate and DefaultIPRate.
	LimitKey, LimitIP float64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; none means the peer is the client.
	TrustedProxies []*net.IPNet
	// LogErrorsOnly writes a request line only for requests answered 400
	// or above; by default every request gets one.
	LogErrorsOnly bool
	// Mail sends invitations and key notices; nil sends nothing.
	Mail Mailer
}

// Server is the Closr HTTP application.
type Server struct {
	echo    *echo.Echo
	store   Store
	log     *slog.Logger
	cookies *sessions.CookieStore
	static  *staticFiles
	passwd  passwordHasher
	logins  *loginThrottle
	signups *throttle  // per IP
	hashes  *hashSlots // bounds concurrent password hashes
	// requestIDs names each request for the logs.
	requestIDs requestIDs
	refusals   refusalLog
	intake     *intake.Intake
	now        func() time.Time // the one clock, shared with the store
	// phoneRegion is the country phone numbers without a country code are
	// read in, and the agent's country when their browser names none.
	phoneRegion string
	mcp         http.Handler // the MCP server's Streamable HTTP handler
	// mcpAnswerCap is maxMCPAnswer; tests lower it.
	mcpAnswerCap int
	// toolSchemas are the MCP tools' input schemas, by name.
	toolSchemas map[string]*jsonschema.Schema
	// keyLimits and ipLimits rate-limit the API; nil means no limit.
	keyLimits, ipLimits *limiterSet
	proxies             []*net.IPNet // trusted reverse proxies
	errorsOnly          bool         // request lines only for answers of 400 and above
	mail                Mailer       // nil: no mail
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoginLimit == 0 {
		cfg.LoginLimit = 5
	}
	if cfg.SignupLimit == 0 {
		cfg.SignupLimit = 10
	}
	st, err := loadStatic(cfg.Static)
	if err != nil {
		return nil, err
	}
	s := &Server{
		echo:    echo.New(),
		store:   cfg.Store,
		log:     cfg.Logger,
		cookies: newCookieStore(cfg.SessionKey),
		static:  st,
		passwd:  newPasswordHasher(cfg.PasswordCost),
		logins:  newLoginThrottle(cfg.LoginLimit),
		signups: newThrottle(cfg.SignupLimit, time.Hour),
		hashes:  newHashSlots(runtime.NumCPU()),
		intake:  intake.New(cfg.Store, cfg.PhoneRegion),
		now:     cfg.Now,

		phoneRegion: cmp.Or(strings.ToUpper(cfg.PhoneRegion), "US"),

		keyLimits:  newLimiterSet(cfg.LimitKey),
		ipLimits:   newLimiterSet(cfg.LimitIP),
		proxies:    cfg.TrustedProxies,
		errorsOnly: cfg.LogErrorsOnly,
		mail:       cfg.Mail,
	}
	for _, t := range []*throttle{s.logins.ips, s.logins.pairs, s.logins.accounts, s.signups} {
		t.now = cfg.Now
	}
	for _, l := range []*limiterSet{s.keyLimits, s.ipLimits, s.logins.rate} {
		if l != nil {
			l.now = cfg.Now
		}
	}
	s.mcpAnswerCap = maxMCPAnswer
	s.mcp = s.newMCPHandler()
	s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

func (s *Server) routes() {
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIPExtractor(s.proxies)
	e.HTTPErrorHandler = s.handleError
	// Plain forms revoke with POST + _method=DELETE. The API is skipped: the
	// override reads the form, which would consume an API request's body.
	// The cap comes first, or a huge form would be read before any limit.
	e.Pre(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Skipper: isAPI, Limit: "64K"}))
	e.Pre(middleware.MethodOverrideWithConfig(middleware.MethodOverrideConfig{
		Getter:  middleware.MethodFromForm("_method"),
		Skipper: isAPI,
	}))
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: s.requestIDs.next}))
	e.Use(s.logRequests, middleware.Recover(), s.securityHeaders, s.limitIP)

	e.GET("/healthz", s.health)
	e.GET("/static/*", s.serveStatic("static"))
	e.HEAD("/static/*", s.serveStatic("static"))

	e.GET("/t.js", s.serveStatic("t.js"))
	e.HEAD("/t.js", s.serveStatic("t.js"))
	e.OPTIONS("/api/track", preflight)
	e.POST("/api/track", s.track, s.countUse)

	e.OPTIONS("/api/leads/inbound", preflight)
	e.POST("/api/leads/inbound", s.inboundLead, s.countUse)
	e.GET("/api/leads/inbound", s.inboundGet)
	e.GET("/thanks", s.thanks)

	// Key-authenticated like the API, so outside the session and CSRF routes.
	e.Match([]string{http.MethodPost, http.MethodGet, http.MethodDelete}, "/mcp", s.serveMCP, s.countUse)

	app := routeSet{e: e, mw: []echo.MiddlewareFunc{middleware.BodyLimit("64K"), s.withSession}}
	app.GET("/", s.home)
	app.GET("/signup", s.signupPage)
	app.POST("/signup", s.signup)
	app.GET("/login", s.loginPage)
	app.POST("/login", s.login)
	app.POST("/logout", s.logout)
	app.with(s.requireAgent).POST("/logout/everywhere", s.logoutEverywhere)

	// The link's token is the invitee's only credential.
	app.GET("/invite/:token", s.invitePage)
	app.POST("/invite/:token", s.acceptInvite)

	agent := app.with(s.requireAgent)
	agent.GET("/settings/integrations", s.integrationsPage)
	agent.GET("/settings/integrations/api-keys/live", s.keyListsLive)
	agent.GET("/settings/integrations/api-keys/:id", s.keyPage)
	agent.GET("/settings/integrations/api-keys/:id/status", s.newKeyStatus)
	agent.GET("/settings/team", s.teamPage)
	agent.GET("/settings/team/activity", s.activityPage)
	agent.GET("/settings/profile", s.profilePage)
	agent.POST("/settings/profile", s.updateProfile)
	agent.POST("/settings/profile/password", s.changePassword)
	// Anyone may leave (their own id); removing others is checked inside.
	agent.DELETE("/settings/team/members/:id", s.removeMember())
	agent.GET("/leads", s.leadsPage)
	agent.GET("/leads/:id", s.leadPage)
	agent.DELETE("/leads/:id", s.deleteTestLead)
	agent.GET("/leads/:id/submissions/:sid/raw", s.submissionRaw)
	agent.POST("/leads/:id/tracked-links", s.createTrackedLink)

	manager := agent.with(s.requireManager)
	manager.POST("/settings/integrations/api-keys", s.createAPIKey)
	manager.DELETE("/settings/integrations/api-keys/:id", s.revokeAPIKey())
	manager.POST("/settings/integrations/api-keys/:id/rotate", s.rotateAPIKey)
	manager.POST("/settings/integrations/api-keys/:id/expiry", s.expireAPIKey)
	manager.POST("/settings/integrations/api-keys/:id/label", s.renameAPIKey)
	manager.POST("/settings/integrations/tracked-domains", s.addTrackedDomain)
	manager.DELETE("/settings/integrations/tracked-domains/:id", s.removeTrackedDomain())
	manager.POST("/settings/team/invites", s.invite)
	manager.DELETE("/settings/team/invites/:id", s.cancelInvitation())
	manager.POST("/settings/team/members/:id/role", s.changeRole)
}

// routeSet registers routes with middleware attached to each route. An Echo
// group would also catch every unknown path and run its middleware there, so
// a mistyped API URL would get a CSRF error instead of a 404.
type routeSet struct {
	e  *echo.Echo
	mw []echo.MiddlewareFunc
}

func (r routeSet) with(mw ...echo.MiddlewareFunc) routeSet {
	return routeSet{e: r.e, mw: append(slices.Clone(r.mw), mw...)}
}

func (r routeSet) GET(path string, h echo.HandlerFunc)    { r.e.GET(path, h, r.mw...) }
func (r routeSet) POST(path string, h echo.HandlerFunc)   { r.e.POST(path, h, r.mw...) }
func (r routeSet) DELETE(path string, h echo.HandlerFunc) { r.e.DELETE(path, h, r.mw...) }

func (s *Server) health(c echo.Context) error {
	if err := s.store.Ping(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

func (s *Server) home(c echo.Context) error {
	if agentOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/settings/integrations")
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// isHTMX reports whether the request came from HTMX rather than a plain form.
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// isAPI reports whether the path belongs to the JSON API.
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || p == "/mcp"
}

// Routes lists every route as "METHOD /path", sorted; the access test
// holds a row for each, so a route cannot be added without one.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if strings.HasPrefix(r.Method, "echo_") { // Echo's own not-found routes
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	sort.Strings(out)
	return slices.Compact(out)
}
