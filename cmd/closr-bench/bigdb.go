package main

// Building a large database for the read benchmark: straight through SQL in
// big transactions with prepared statements (minutes, where posting a
// million leads over HTTP takes hours), after store.Open has made the
// schema and the store has created the teams, agents and keys.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"time"

	"closr/handlers"
	"closr/store"
)

// shape is what a benchmark database holds.
type shape struct {
	leads       int // in the big team
	visitors    int // in the big team
	pageViews   int // in the big team, the hot visitor's included
	hotViews    int // the page views of one visitor linked to a lead
	smallTeams  int // other teams, each with smallLeads leads and a hundredth of the views
	smallLeads  int
	linkedShare float64 // share of visitors linked to a lead
}

// bigShape is the shape of issue 14: a million leads and five million page
// views in one team.
var bigShape = shape{leads: 1_000_000, visitors: 200_000, pageViews: 5_000_000, hotViews: 50_000,
	smallTeams: 2, smallLeads: 2_000, linkedShare: 0.2}

// smallShape is the same, a thousand times smaller in the big team.
var smallShape = shape{leads: 1_000, visitors: 200, pageViews: 5_000, hotViews: 500,
	smallTeams: 2, smallLeads: 200, linkedShare: 0.2}

// benchPassword is the password of every agent of a bench database.
const benchPassword = "closr bench password"

// rareName is a lead name that occurs once in the big team: the rare search.
// The same lead alone wrote rareWord in its message and has rareValue in a
// custom field.
const (
	rareName  = "Quentin Farquharson"
	rareWord  = "orangery"
	rareValue = "Thistlewood Credit Union"
)

// messages are the leads' messages, in turn; "weekend" is in a third of
// them (a common word).
var messages = []string{
	"I'd like to see 12 Oak St this weekend. Is it still available?",
	"What are the HOA fees for the condo on Elm Ave?",
	"We're relocating in June and need a 3-bedroom near good schools.",
	"Can we tour 7 Harbor View this weekend? Pre-approved.",
	"Is the price on 301 Pine Rd negotiable?",
	"Looking to sell my townhouse, what's it worth?",
	"Any open houses this weekend downtown?",
}

// dataset is what the read benchmark needs to know about a built database.
type dataset struct {
	agentEmail string // the big team's owner
	mcpKey     string // an MCP key of the big team
	intakeKey  string // an intake key of the big team
	hotLead    int64  // the lead whose visitor has shape.hotViews page views
	typical    int64  // a lead with a few dozen page views
	middle     int64  // a lead in the middle of the list, with the rare name
	middleAt   int64  // its latest activity (Unix seconds), for its place in the list
	phone      string // the middle lead's phone, as people write it: (212) 555-0100
	leadCount  int    // the big team's leads
}

// loadOrBuild returns the dataset of the database at path, building it
// with the shape first when the file does not exist.
func loadOrBuild(path string, sh shape) (dataset, error) {
	if _, err := os.Stat(path); err == nil {
		return loadDataset(path)
	}
	start := time.Now()
	fmt.Printf("building %s: %d leads, %d page views over %d visitors (%d for one lead), %d small teams...\n",
		path, sh.leads, sh.pageViews, sh.visitors, sh.hotViews, sh.smallTeams)
	if err := build(path+".building", sh); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + ".building" + suffix)
		}
		return dataset{}, err
	}
	if err := os.Rename(path+".building", path); err != nil {
		return dataset{}, err
	}
	fi, _ := os.Stat(path)
	fmt.Printf("built in %v, %.0f MB\n", time.Since(start).Round(time.Second), float64(fi.Size())/1e6)
	return loadDataset(path)
}

// build creates the database: teams and keys through the store, then the
// rows through SQL.
func build(path string, sh shape) error {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	hash := handlers.HashPassword(benchPassword)
	type team struct {
		id, intakeKey int64
		leads         int
		visitors      int
		views         int
		hot           int
	}
	var teams []team
	for i := 0; i <= sh.smallTeams; i++ {
		t := team{leads: sh.leads, visitors: sh.visitors, views: sh.pageViews, hot: sh.hotViews}
		name, email := "Big Realty", "big@bench.example"
		if i > 0 {
			t = team{leads: sh.smallLeads, visitors: max(sh.visitors/100, 10), views: max(sh.pageViews/100, 100), hot: 0}
			name, email = fmt.Sprintf("Small Realty %d", i), fmt.Sprintf("small%d@bench.example", i)
		}
		a, err := db.CreateTeamWithOwner(ctx, name, store.NewAgent{Name: "Owner of " + name, Email: email, PasswordHash: hash})
		if err != nil {
			db.Close()
			return err
		}
		k, _, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "Website form", store.AccessIntake, 0)
		if err != nil {
			db.Close()
			return err
		}
		// The keys are not kept: the bench makes new ones on every run
		// (their plain text exists only when made).
		t.id, t.intakeKey = a.TeamID, k.ID
		teams = append(teams, t)
	}
	if err := db.Close(); err != nil {
		return err
	}

	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+
		"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-524288)&_pragma=foreign_keys(0)")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	b := &builder{db: raw, ctx: ctx, now: time.Now().Unix(), rnd: rand.New(rand.NewPCG(14, 1))}
	// Teams are filled one after the other, as if each had its own era:
	// every team's leads and page views are spread over its last two years.
	for i, t := range teams {
		if err := b.fill(t.id, t.intakeKey, t.leads, t.visitors, t.views, t.hot, sh.linkedShare, i == 0); err != nil {
			return err
		}
	}
	if err := b.commit(); err != nil {
		return err
	}
	raw.Close()
	// The store indexes for search the leads written here when it opens.
	db, err = store.Open(ctx, path)
	if err != nil {
		return err
	}
	return db.Close()
}

// builder inserts rows in large transactions.
type builder struct {
	db    *sql.DB
	ctx   context.Context
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	n     int // rows in the open transaction
	now   int64
	rnd   *rand.Rand
}

func (b *builder) exec(query string, args ...any) (sql.Result, error) {
	if b.tx == nil {
		var err error
		if b.tx, err = b.db.BeginTx(b.ctx, nil); err != nil {
			return nil, err
		}
		b.stmts = map[string]*sql.Stmt{}
	}
	st, ok := b.stmts[query]
	if !ok {
		var err error
		if st, err = b.tx.PrepareContext(b.ctx, query); err != nil {
			return nil, err
		}
		b.stmts[query] = st
	}
	res, err := st.ExecContext(b.ctx, args...)
	if err != nil {
		return nil, err
	}
	if b.n++; b.n >= 100_000 {
		return res, b.commit()
	}
	return res, nil
}

func (b *builder) commit() error {
	if b.tx == nil {
		return nil
	}
	for _, st := range b.stmts {
		st.Close()
	}
	err := b.tx.Commit()
	b.tx, b.n = nil, 0
	return err
}

var (
	firstNames = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
		"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
		"Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew", "Donna",
		"Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "Jose", "Maria", "Wei", "Priya", "Ahmed", "Sofia"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
		"Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
		"Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker"}
	domains = []string{"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net"}
	sources = []string{"Website", "Website", "Website", "Zillow", "Zillow", "Facebook Lead Ads", "Realtor.com", "Open house", "Referral", "Zapier"}
	pages   = []string{"/", "/listings", "/listings/12-oak-st", "/listings/7-elm-ave", "/listings/301-pine-rd", "/about", "/contact",
		"/blog/first-time-buyers", "/blog/market-update", "/sell", "/listings/88-harbor-view", "/neighborhoods/downtown"}
)

// fill adds one team's leads (each with one submission), visitors and page
// views. The big team's newest leads include the hot one, whose visitor
// has hot page views, so the first page of /leads shows it; one lead in
// 500 is Hot, one in 10,000 a test lead.
func (b *builder) fill(teamID, keyID int64, leads, visitors, views, hot int, linked float64, big bool) error {
	const day = 86400
	span := int64(730 * day)
	start := b.now - span
	leadIDs := make([]int64, leads)
	leadAt := make([]int64, leads)
	rare := leads / 2
	for i := range leads {
		at := start + span*int64(i)/int64(leads)
		first, last := firstNames[b.rnd.IntN(len(firstNames))], lastNames[b.rnd.IntN(len(lastNames))]
		name := first + " " + last
		if big && i == rare {
			name = rareName
		}
		email := fmt.Sprintf("%s.%s%d@%s", lower(first), lower(last), i, domains[b.rnd.IntN(len(domains))])
		// Three area codes a team, the rest of the number spread (i times
		// a number prime to 10^7 is a permutation of the 7-digit numbers).
		phone := fmt.Sprintf("+1%03d%07d", 200+100*teamID+int64(i%3)*11, (int64(i)*7919+12345)%10_000_000)
		source := sources[b.rnd.IntN(len(sources))]
		message := messages[i%len(messages)]
		custom := fmt.Sprintf(`[["budget","$%dk"],["Lender","Bank %d"]]`, 300+50*(i%20), i%97)
		if big && i == rare {
			message, custom = "Does the house have an "+rareWord+"?", `[["budget","$900k"],["Lender","`+rareValue+`"]]`
		}
		if i%1000 == 7 { // one in a thousand came without a way to reach them
			email, phone = "", ""
		}
		// One in ten thousand is a test lead (Send test lead).
		test := i%10_000 == 13
		// Latest activity is the enquiry: the list's order is the order
		// the leads came in.
		res, err := b.exec(`INSERT INTO leads (team_id, name, email, phone, message, source, custom, key_id, created_at, updated_at,
				last_activity_at, last_message, is_test)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, teamID, name, email, phone, message, source, custom, keyID, at, at, at, message, test)
		if err != nil {
			return fmt.Errorf("insert lead: %w", err)
		}
		id, _ := res.LastInsertId()
		leadIDs[i], leadAt[i] = id, at
		body := fmt.Sprintf(`{"name":%q,"email":%q,"phone":%q,"message":%q,"source":%q,"budget":"$650k","page":"https://agent.example/listings/12-oak-st","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring-open-house","consent":"yes","submitted_at":"%s"}`,
			name, email, phone, message, source, time.Unix(at, 0).UTC().Format(time.RFC3339))
		fields := fmt.Sprintf(`[["name",%q],["email",%q],["phone",%q],["message",%q],["source",%q]]`, name, email, phone, message, source)
		if _, err := b.exec(`INSERT INTO submissions (team_id, lead_id, key_id, source, content_type, raw, fields, message, created_at)
			VALUES (?, ?, ?, ?, 'application/json', ?, ?, ?, ?)`, teamID, id, keyID, source, []byte(body), fields, message, at); err != nil {
			return fmt.Errorf("insert submission: %w", err)
		}
	}

	// Page views happen over the last year in visits: runs of views a
	// minute or two apart. Each visitor gets a share of the views; the hot
	// one gets hot of them, in visits over the last 90 days.
	type view struct {
		at      int64
		visitor int32
	}
	all := make([]view, 0, views)
	perVisitor := make([]int, visitors)
	rest := views - hot
	for v := range visitors {
		if v == 0 && hot > 0 {
			perVisitor[v] = hot
			continue
		}
		perVisitor[v] = rest / (visitors - min(hot, 1))
	}
	for v := 0; v < rest%(visitors-min(hot, 1)); v++ {
		perVisitor[len(perVisitor)-1-v]++
	}
	for v, n := range perVisitor {
		window := int64(365 * day)
		if v == 0 && hot > 0 {
			window = 90 * day
		}
		for n > 0 {
			visit := min(n, 1+b.rnd.IntN(40))
			at := b.now - b.rnd.Int64N(window)
			for range visit {
				all = append(all, view{at: min(at, b.now), visitor: int32(v)})
				at += 30 + b.rnd.Int64N(90)
			}
			n -= visit
		}
	}
	slices.SortFunc(all, func(x, y view) int { return int(x.at - y.at) })
	firstSeen, lastSeen := make([]int64, visitors), make([]int64, visitors)
	for _, w := range all {
		if firstSeen[w.visitor] == 0 {
			firstSeen[w.visitor] = w.at
		}
		lastSeen[w.visitor] = w.at
	}
	// Visitors in order of first visit; the hot one belongs to one of the
	// newest leads, and each of the newest 50 leads has a visitor.
	order := make([]int32, visitors)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return int(firstSeen[x] - firstSeen[y]) })
	visitorIDs := make([]int64, visitors)
	recent := leads - 50
	for _, v := range order {
		var lead any
		switch {
		case v == 0 && hot > 0:
			lead = leadIDs[leads-10]
		case v >= 1 && int(v) <= min(50, leads):
			lead = leadIDs[leads-int(v)]
		case b.rnd.Float64() < linked:
			lead = leadIDs[recent/2+b.rnd.IntN(max(recent/2, 1))]
		}
		res, err := b.exec(`INSERT INTO visitors (team_id, vid, lead_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)`,
			teamID, fmt.Sprintf("%016x%016x", b.rnd.Uint64(), b.rnd.Uint64()), lead, firstSeen[v], lastSeen[v])
		if err != nil {
			return fmt.Errorf("insert visitor: %w", err)
		}
		visitorIDs[v], _ = res.LastInsertId()
	}
	for i, w := range all {
		p := pages[(i+int(w.visitor))%len(pages)]
		if _, err := b.exec(`INSERT INTO page_views (team_id, visitor_id, key_id, url, title, referrer, utm_source, screen_width, created_at)
			VALUES (?, ?, ?, ?, ?, 'https://www.google.com/', 'google', 1280, ?)`,
			teamID, visitorIDs[w.visitor], keyID, "https://agent.example"+p, "Listing "+p, w.at); err != nil {
			return fmt.Errorf("insert page view: %w", err)
		}
	}
	// One lead in 500, across the list, is Hot: a visitor of its own came
	// three times in the last week, and its latest activity moved up to
	// the last of those visits, as a return to the site moves it.
	for i := 250; i < leads; i += 500 {
		res, err := b.exec(`INSERT INTO visitors (team_id, vid, lead_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)`,
			teamID, fmt.Sprintf("%016x%016x", b.rnd.Uint64(), b.rnd.Uint64()), leadIDs[i], b.now-6*day, b.now-6*day+2*3*3600)
		if err != nil {
			return fmt.Errorf("insert hot visitor: %w", err)
		}
		vid, _ := res.LastInsertId()
		last := b.now - 6*day + b.rnd.Int64N(5*day)
		for v := range 3 {
			if _, err := b.exec(`INSERT INTO page_views (team_id, visitor_id, key_id, url, title, referrer, utm_source, screen_width, created_at)
				VALUES (?, ?, ?, 'https://agent.example/listings/12-oak-st', 'Listing', '', '', 390, ?)`, teamID, vid, keyID, last-int64(2-v)*3*3600); err != nil {
				return fmt.Errorf("insert hot page view: %w", err)
			}
		}
		if _, err := b.exec(`UPDATE leads SET last_activity_at = max(last_activity_at, ?) WHERE id = ?`, last, leadIDs[i]); err != nil {
			return fmt.Errorf("touch hot lead: %w", err)
		}
	}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// loadDataset finds, in a built database, the leads the benchmark reads.
func loadDataset(path string) (dataset, error) {
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=query_only(1)")
	if err != nil {
		return dataset{}, err
	}
	defer raw.Close()
	d := dataset{agentEmail: "big@bench.example"}
	const team = `(SELECT team_id FROM agents WHERE email = 'big@bench.example')`
	// The hot lead is the tenth newest; the typical one is linked to a
	// visitor with a few dozen views; the middle one is in the middle.
	if err := raw.QueryRow(`SELECT id FROM leads WHERE team_id = ` + team + ` ORDER BY id DESC LIMIT 1 OFFSET 9`).Scan(&d.hotLead); err != nil {
		return d, fmt.Errorf("find the hot lead: %w", err)
	}
	if err := raw.QueryRow(`SELECT id FROM leads WHERE team_id = ` + team + ` ORDER BY id DESC LIMIT 1 OFFSET 19`).Scan(&d.typical); err != nil {
		return d, fmt.Errorf("find a typical lead: %w", err)
	}
	if err := raw.QueryRow(`SELECT id, last_activity_at FROM leads WHERE team_id = `+team+` AND name = ?`, rareName).Scan(&d.middle, &d.middleAt); err != nil {
		return d, fmt.Errorf("find the middle lead: %w", err)
	}
	var e164 string
	if err := raw.QueryRow(`SELECT phone FROM leads WHERE id = ?`, d.middle).Scan(&e164); err != nil || len(e164) != 12 {
		return d, fmt.Errorf("the middle lead's phone %q: %v", e164, err)
	}
	d.phone = fmt.Sprintf("(%s) %s-%s", e164[2:5], e164[5:8], e164[8:])
	if err := raw.QueryRow(`SELECT count(*) FROM leads WHERE team_id = ` + team).Scan(&d.leadCount); err != nil {
		return d, fmt.Errorf("count leads: %w", err)
	}
	return d, nil
}
