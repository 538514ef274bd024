// Command closr-bench measures the ingest endpoints under load. It builds and
// starts the real closr binary on a temporary database, starts a no-op 204
// server (which lives only in this command) as the baseline, drives each with
// the same closed-loop client in the same run, and prints a table:
//
//	go run ./cmd/closr-bench [-c 64] [-d 5s] [-phases noop,inbound,track,invalid]
//	go run ./cmd/closr-bench -postgres postgres://user@host/db
//
// With -postgres the inbound and track phases run again on PostgreSQL,
// with one closr instance and with two sharing the database (the load
// split between them), beside SQLite's in the same table.
//
//	go run ./cmd/closr-bench -phases reads -big FILE [-big-postgres ADDR]
//
// The reads phase times every page and MCP tool on a small database and on
// the large one (FILE, built when missing); -big-postgres adds a server on
// a PostgreSQL database holding the same data (closr migrate --from FILE).
//
// Beside the rates and latencies it prints the CPU time the server and the
// load client used per request and how much of the machine sat idle, which
// say where a phase's time went on a machine the client shares.
//
// The server's rate limits are turned off for the run (--limit-key 0
// --limit-ip 0), since one client address and one key would otherwise be
// throttled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"closr/store"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "noop-server" {
		serveNoop(os.Args[2])
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "closr-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	conns := flag.Int("c", 64, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "duration of each phase")
	bin := flag.String("bin", "", "closr binary to run (default: go build ./cmd/closr)")
	target := flag.String("target", "", "URL of a running closr to load instead (needs -key)")
	key := flag.String("key", "", "intake API key for -target")
	only := flag.String("phases", "noop,inbound,track,invalid", "phases to run, comma-separated (the no-op baseline always runs first); reads, inbound-big and track-big need -big")
	serverArgs := flag.String("server-args", "--limit-key 0 --limit-ip 0", "extra arguments for the closr server")
	bigPath := flag.String("big", "", "large database for reads, inbound-big and track-big: built there when missing (a few minutes), then reused; each run works on a copy")
	reads := flag.Int("n", 50, "requests per page and tool in the reads phase")
	readTimeout := flag.Duration("read-timeout", 60*time.Second, "longest wait for one page or tool in the reads phase")
	pgAddr := flag.String("postgres", "", "PostgreSQL database to run inbound and track on as well, with one and with two closr instances: a schema of the run's own is made there and dropped after")
	bigPG := flag.String("big-postgres", "", "PostgreSQL database holding -big FILE's data (moved there with closr migrate): the reads phase runs on it too")
	profiles := flag.String("cpuprofile", "", "directory where each closr server started writes its CPU profile (closr-big.prof, …) when it stops")
	flag.Parse()
	wanted := strings.Split(*only, ",")
	phasesGiven := false
	flag.Visit(func(f *flag.Flag) { phasesGiven = phasesGiven || f.Name == "phases" })
	if *pgAddr != "" && !phasesGiven {
		wanted = append(wanted, pgPhaseIDs...)
	}
	for _, id := range wanted {
		if !slices.Contains(phaseIDs, id) {
			return fmt.Errorf("-phases: no phase %q (the phases are %s)", id, strings.Join(phaseIDs, ", "))
		}
	}
	needPG := slices.ContainsFunc(wanted, func(id string) bool { return slices.Contains(pgPhaseIDs, id) })
	if needPG && (*pgAddr == "" || *target != "") {
		return fmt.Errorf("%s need -postgres ADDR (and no -target)", strings.Join(pgPhaseIDs, ", "))
	}
	needBig := slices.ContainsFunc(wanted, func(id string) bool { return id == "reads" || strings.HasSuffix(id, "-big") })
	if needBig && (*bigPath == "" || *target != "") {
		return errors.New("reads, inbound-big and track-big need -big FILE (and no -target)")
	}
	if *bigPG != "" && !slices.Contains(wanted, "reads") {
		return errors.New("-big-postgres is read by the reads phase: add -phases reads (with -big FILE)")
	}

	// Beside the large database: its copy may not fit in a small /tmp.
	tmpRoot := ""
	if *bigPath != "" {
		tmpRoot = filepath.Dir(*bigPath)
	}
	dir, err := os.MkdirTemp(tmpRoot, "closr-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *target == "" && *bin == "" {
		*bin = filepath.Join(dir, "closr")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/closr")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build closr: %w", err)
		}
	}
	startClosr := func(name, dbPath string) (*process, error) {
		var env []string
		if *profiles != "" {
			env = []string{"CLOSR_CPUPROFILE=" + filepath.Join(*profiles, name+".prof")}
		}
		return startProcess(dir, name, env, *bin, append([]string{"--db", dbPath}, strings.Fields(*serverArgs)...)...)
	}

	var big *process
	var bigData dataset
	var bigKeys benchKeys
	if needBig {
		if bigData, err = loadOrBuild(*bigPath, bigShape); err != nil {
			return err
		}
		bigCopy := filepath.Join(dir, "big.db")
		if err := copyFile(*bigPath, bigCopy); err != nil {
			return err
		}
		if bigKeys, err = newKeys(bigCopy, bigData); err != nil {
			return err
		}
		if big, err = startClosr("closr-big", bigCopy); err != nil {
			return err
		}
		defer big.stop()
	}
	if slices.Contains(wanted, "reads") {
		bigs := []bigServer{{"large", big.url, bigKeys}}
		if *bigPG != "" {
			keys, err := newKeys(*bigPG, bigData)
			if err != nil {
				return fmt.Errorf("-big-postgres: %w", err)
			}
			srv, err := startClosr("closr-big-pg", *bigPG)
			if err != nil {
				return err
			}
			defer srv.stop()
			bigs = append(bigs, bigServer{"large PG", srv.url, keys})
		}
		if err := runReads(dir, startClosr, bigs, bigData, *reads, *readTimeout); err != nil {
			return err
		}
	}

	wanted = slices.DeleteFunc(wanted, func(id string) bool { return id == "reads" })
	if len(wanted) == 0 {
		return nil
	}
	noop, err := startProcess(dir, "noop", nil, os.Args[0], "noop-server")
	if err != nil {
		return err
	}
	defer noop.stop()

	var srv *process
	base, apiKey := *target, *key
	if base == "" {
		dbPath := filepath.Join(dir, "bench.db")
		if apiKey, err = seed(dbPath); err != nil {
			return err
		}
		if srv, err = startClosr("closr", dbPath); err != nil {
			return err
		}
		defer srv.stop()
		base = srv.url
	} else if apiKey == "" {
		return errors.New("-target needs -key")
	}

	var pg []*process
	var pgKey string
	if needPG {
		schemaAddr, drop, err := benchSchema(*pgAddr)
		if err != nil {
			return err
		}
		defer drop()
		if pgKey, err = seed(schemaAddr); err != nil {
			return err
		}
		for i := range 2 {
			p, err := startClosr(fmt.Sprintf("closr-pg%d", i+1), schemaAddr)
			if err != nil {
				return err
			}
			defer p.stop()
			pg = append(pg, p)
		}
	}

	fmt.Printf("closr-bench: %d connections, %v per phase, GOMAXPROCS of the servers = %d CPUs; rate limits off for the run\n\n", *conns, *dur, cpus())
	all := []phase{
		{id: "noop", name: "no-op 204 (baseline)", procs: []*process{noop}, req: noopRequest(noop.url)},
		{id: "inbound", name: "POST /api/leads/inbound", procs: []*process{srv}, req: inboundRequest(base, apiKey)},
		{id: "track", name: "POST /api/track", procs: []*process{srv}, req: trackRequest(base, apiKey)},
		{id: "invalid", name: "invalid keys (inbound)", procs: []*process{srv}, req: invalidKeyRequest(base)},
	}
	if pg != nil {
		all = append(all,
			phase{id: "inbound-pg", name: "inbound, PostgreSQL", procs: pg[:1], req: inboundRequest(pg[0].url, pgKey)},
			phase{id: "track-pg", name: "track, PostgreSQL", procs: pg[:1], req: trackRequest(pg[0].url, pgKey)},
			// Odd and even requests to different instances: leads and
			// visitors of one stream land on both.
			phase{id: "inbound-pg2", name: "inbound, PG, 2 instances", procs: pg, req: alternate(inboundRequest(pg[0].url, pgKey), inboundRequest(pg[1].url, pgKey))},
			phase{id: "track-pg2", name: "track, PG, 2 instances", procs: pg, req: alternate(trackRequest(pg[0].url, pgKey), trackRequest(pg[1].url, pgKey))})
	}
	if big != nil {
		all = append(all,
			phase{id: "inbound-big", name: "inbound, large database", procs: []*process{big}, req: inboundRequest(big.url, bigKeys.intake)},
			phase{id: "track-big", name: "track, large database", procs: []*process{big}, req: trackRequest(big.url, bigKeys.intake)})
	}
	phases := all[:1]
	for _, id := range wanted {
		if i := slices.IndexFunc(all, func(ph phase) bool { return ph.id == id }); i > 0 {
			phases = append(phases, all[i])
		}
	}
	var baseline float64
	fmt.Printf("%-26s %10s %9s %9s %8s %10s %11s %11s %5s %7s\n", "phase", "req/s", "p50", "p99", "errors", "peak RSS", "server CPU", "client CPU", "idle", "ratio")
	for i, ph := range phases {
		cpu0, self0, idle0 := serversCPU(ph.procs), selfCPUTime(), machineIdle()
		res := load(ph.req, *conns, *dur)
		perReq := func(d time.Duration) string {
			return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)/float64(max(res.requests, 1)))
		}
		serverCPU := "-" // a server given with -target is not ours to measure
		if ph.procs[0] != nil {
			serverCPU = perReq(serversCPU(ph.procs) - cpu0)
		}
		idle := machineIdle() - idle0
		idlePct := fmt.Sprintf("%.0f%%", 100*idle.Seconds()/(res.elapsed.Seconds()*float64(cpus())))
		if i == 0 {
			baseline = res.rate
		}
		rss := "-"
		if ph.procs[0] != nil {
			rss = fmt.Sprintf("%.1f MB", float64(serversRSS(ph.procs))/(1<<20))
		}
		fmt.Printf("%-26s %10.0f %9s %9s %8d %10s %11s %11s %5s %7.2f\n", ph.name, res.rate, ms(res.p50), ms(res.p99), res.errors, rss,
			serverCPU, perReq(selfCPUTime()-self0), idlePct, res.rate/baseline)
		if res.firstErr != "" {
			fmt.Printf("    first error: %s\n", res.firstErr)
		}
	}
	return nil
}

var phaseIDs = append([]string{"noop", "inbound", "track", "invalid", "reads", "inbound-big", "track-big"}, pgPhaseIDs...)

// pgPhaseIDs are the phases on PostgreSQL, which -postgres adds.
var pgPhaseIDs = []string{"inbound-pg", "track-pg", "inbound-pg2", "track-pg2"}

type phase struct {
	id    string
	name  string
	procs []*process // the servers that take the load: CPU is their sum, peak RSS their largest
	req   requestFunc
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// seed creates a team and an intake key in a fresh database.
func seed(path string) (string, error) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	a, err := db.CreateTeamWithOwner(ctx, "Bench Realty", store.NewAgent{Name: "Bench", Email: "bench@example.com", PasswordHash: []byte("x")})
	if err != nil {
		return "", err
	}
	_, key, err := db.CreateAPIKey(ctx, a.TeamID, a.ID, "bench", store.AccessIntake, 0)
	return key, err
}

// process is a server started by the bench.
type process struct {
	cmd *exec.Cmd
	url string
}

func startProcess(dir, name string, env []string, bin string, args ...string) (*process, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	if name == "noop" {
		args = append(args, addr)
	} else {
		args = append(args, "--addr", addr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{cmd: cmd, url: "http://" + addr}
	for i := 0; i < 100; i++ {
		if r, err := http.Get(p.url + "/healthz"); err == nil {
			r.Body.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	log, _ := os.ReadFile(logf.Name())
	return nil, fmt.Errorf("%s did not start:\n%s", name, log)
}

func (p *process) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
	}
}

// serversCPU is the CPU time the servers have used so far, together.
func serversCPU(ps []*process) time.Duration {
	var d time.Duration
	for _, p := range ps {
		d += p.cpuTime()
	}
	return d
}

// serversRSS is the largest peak RSS of the servers.
func serversRSS(ps []*process) int64 {
	var m int64
	for _, p := range ps {
		m = max(m, p.peakRSS())
	}
	return m
}

// cpuTime is the CPU time (user and system) the process has used so far.
func (p *process) cpuTime() time.Duration {
	if p == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	s := string(b)
	return ticks(strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), 11, 12)
}

// selfCPUTime is the CPU time this process (the load client) has used.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineIdle is the time all CPUs have spent idle since boot (/proc/stat).
func machineIdle() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	// The first line: cpu user nice system idle iowait ...
	return ticks(strings.Fields(strings.SplitN(string(b), "\n", 2)[0]), 4, 5)
}

// ticks is the time in fields i and j of a /proc line, which count clock
// ticks (USER_HZ, 100 on Linux); 0 when the line is shorter.
func ticks(fields []string, i, j int) time.Duration {
	if len(fields) <= max(i, j) {
		return 0
	}
	var a, b int64
	fmt.Sscan(fields[i], &a)
	fmt.Sscan(fields[j], &b)
	return time.Duration(a+b) * (time.Second / 100)
}

// peakRSS is the process's peak resident set size so far (VmHWM).
func (p *process) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}
