package fleet

// The helpers of the fleet tests: the processes (redis-server, the
// instances, the crumb command), the round-robin proxy in front of the
// instances, and the clients' bookkeeping.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func TestMain(m *testing.M) {
	if os.Getenv(envInstance) != "" {
		if err := runInstance(); err != nil {
			fmt.Fprintln(os.Stderr, "instance:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if crumbDir != "" {
		os.RemoveAll(crumbDir)
	}
	os.Exit(code)
}

// skipWithoutRedis skips the test when there is no redis-server, saying
// how to run it; CI sets CRUMB_REQUIRE_REDIS=1, which fails it instead.
func redisBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CRUMB_REQUIRE_REDIS") == "1" {
			tb.Fatal("CRUMB_REQUIRE_REDIS=1 but no redis-server (apt-get install redis-server)")
		}
		tb.Skip("no redis-server: install it (Debian: apt-get install redis-server), then run go test ./redisrevoke/fleet")
	}
	return bin
}

// freePort returns a loopback address with a port nobody listens on,
// below the kernel's range of ephemeral ports: an instance restarted on it
// cannot find it taken by one of the many connections the clients open
// meanwhile, whose local ports come from that range.
func freePort(tb testing.TB) string {
	tb.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(low-10000))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	tb.Fatal("no free port below the ephemeral range")
	return ""
}

// process is a child process whose output is kept for the test's log.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when it has exited
}

// startProcess starts cmd, its standard error appended to out (nil: a new
// buffer), and waits for a line of its standard output containing ready
// (read up to then), or for it to exit.
func startProcess(tb testing.TB, name string, cmd *exec.Cmd, ready string, out *syncBuffer) (*process, string) {
	tb.Helper()
	if out == nil {
		out = &syncBuffer{}
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	cmd.Stderr = p.out
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), ready) {
				found = true
				lines <- sc.Text()
			}
		}
		cmd.Wait()
		close(p.done)
		if !found {
			close(lines)
		}
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			tb.Fatalf("%s exited before it was ready:\n%s", name, p.out)
		}
		return p, line
	case <-time.After(time.Minute):
		p.kill()
		tb.Fatalf("%s did not say %q within a minute:\n%s", name, ready, p.out)
		return nil, ""
	}
}

// kill ends the process at once (SIGKILL: no clean-up, no goodbye) and
// waits for it to be gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// redisServer is a redis-server on a unix socket (no port to lose to
// another program while it restarts) that keeps its data across a
// restart: an append-only file synced at every write, as a deny list needs
// (a revocation lost in a restart is a logout undone).
type redisServer struct {
	bin, dir, socket string
	p                *process
}

func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	dir := tb.TempDir()
	r := &redisServer{bin: redisBinary(tb), dir: dir, socket: filepath.Join(dir, "redis.sock")}
	r.start(tb)
	tb.Cleanup(func() { r.p.kill() })
	return r
}

func (r *redisServer) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(r.bin, "--port", "0", "--unixsocket", r.socket, "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	r.p, _ = startProcess(tb, "redis-server", cmd, "eady to accept connections", nil) // "Ready ...", or "... ready ... at <socket>"
}

// kill ends the server at once (SIGKILL: what it had not written is lost).
func (r *redisServer) kill() { r.p.kill() }

// fleet is three instances, Redis and the proxy in front.
type fleet struct {
	tb        testing.TB
	dir       string
	redis     *redisServer
	instances []*member
	proxy     *proxy
	front     *http.Server
	url       string // the proxy's
	crumb     string // the crumb command, for key rotation
	master    string // the master key file, for the schedule variant
	admin     *http.Client
}

// member is one instance of the fleet and what it was started with.
type member struct {
	name   string
	addr   string
	keys   string // its own key file, or ""
	offset time.Duration
	p      *process
	log    syncBuffer // the standard error of every process it has been
}

type fleetConfig struct {
	schedule bool            // keys on the automatic schedule, else from key files
	offsets  []time.Duration // per instance clock offsets (schedule variant)
	bare     bool            // the same routes without sessions
	noRedis  bool            // sessions without the Redis Revoker
}

func startFleet(tb testing.TB, cfg fleetConfig) *fleet {
	tb.Helper()
	f := &fleet{tb: tb, dir: tb.TempDir(), admin: &http.Client{Transport: &http.Transport{}}}
	tb.Cleanup(f.admin.CloseIdleConnections)
	// The keys: a key list each instance gets a copy of, or the master
	// key of the schedule they all derive theirs from.
	var keyText []byte
	if !cfg.bare {
		f.redis = startRedis(tb)
		f.crumb = buildCrumb(tb)
		args := []string{"keygen"}
		if cfg.schedule {
			args = append(args, "-master")
		}
		var err error
		if keyText, err = exec.Command(f.crumb, args...).Output(); err != nil {
			tb.Fatal(err)
		}
		if cfg.schedule {
			f.master = filepath.Join(f.dir, "master")
			if err := os.WriteFile(f.master, keyText, 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var addrs []string
	for i := range 3 {
		m := &member{name: fmt.Sprintf("i%d", i+1), addr: freePort(tb)}
		if cfg.offsets != nil {
			m.offset = cfg.offsets[i]
		}
		if !cfg.bare && !cfg.schedule {
			m.keys = filepath.Join(f.dir, m.name+".keys")
			if err := os.WriteFile(m.keys, keyText, 0o600); err != nil {
				tb.Fatal(err)
			}
		}
		f.instances = append(f.instances, m)
		addrs = append(addrs, m.addr)
		f.startMember(m, cfg)
		tb.Cleanup(func() { m.p.kill() })
	}
	f.proxy = newProxy(addrs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f.front = &http.Server{Handler: f.proxy}
	go f.front.Serve(l)
	tb.Cleanup(func() { f.front.Close(); f.proxy.transport.CloseIdleConnections() })
	f.url = "http://" + l.Addr().String()
	return f
}

// startMember starts m as cfg says.
func (f *fleet) startMember(m *member, cfg fleetConfig) {
	f.tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"GORACE=halt_on_error=1", // a race ends the instance: the test sees it
		envInstance+"="+m.name,
		envAddr+"="+m.addr,
		envOffset+"="+m.offset.String(),
	)
	if cfg.noRedis {
		cmd.Env = append(cmd.Env, envNoRedis+"=1")
	}
	if cfg.bare {
		cmd.Env = append(cmd.Env, envBare+"=1")
	} else {
		cmd.Env = append(cmd.Env, envRedis+"="+f.redis.socket)
		if m.keys != "" {
			cmd.Env = append(cmd.Env, envKeys+"="+m.keys)
		} else {
			cmd.Env = append(cmd.Env, envMaster+"="+f.master)
		}
	}
	fmt.Fprintf(&m.log, "--- %s started\n", m.name)
	m.p, _ = startProcess(f.tb, m.name, cmd, "listening ", &m.log)
}

// call sends an admin request straight to an instance.
func (f *fleet) call(m *member, path string, form url.Values) adminState {
	f.tb.Helper()
	a, err := f.tryCall(m, path, form)
	if err != nil {
		f.tb.Fatal(err)
	}
	return a
}

// tryCall is call returning its error, for callers that must clean up
// before they fail.
func (f *fleet) tryCall(m *member, path string, form url.Values) (adminState, error) {
	resp, err := f.admin.PostForm("http://"+m.addr+path, form)
	if err != nil {
		return adminState{}, fmt.Errorf("%s %s: %v", m.name, path, err)
	}
	defer resp.Body.Close()
	var a adminState
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
		return adminState{}, fmt.Errorf("%s %s: %s %v", m.name, path, resp.Status, err)
	}
	return a, nil
}

// schedule returns the key schedule the instances derive from the master
// key, to name the key of a period.
func (f *fleet) schedule() *rotation.Schedule {
	f.tb.Helper()
	text, err := os.ReadFile(f.master)
	if err != nil {
		f.tb.Fatal(err)
	}
	master, err := crypto.ParseKey(strings.TrimSpace(string(text)))
	if err != nil {
		f.tb.Fatal(err)
	}
	s, err := rotation.NewSchedule(master, rotation.ScheduleConfig{Period: period, Previous: previous, ClockSkew: clockSkew})
	if err != nil {
		f.tb.Fatal(err)
	}
	return s
}

// rotate runs "crumb rotate STEP" on the deployment's key file (the first
// instance's, the operator's copy), then rolls the file out to the
// instances one at a time: copy it over the instance's file (atomically,
// by rename), have the instance reload it, and wait for traffic (between)
// before the next one. It returns the step's output.
func (f *fleet) rotate(between func(), step ...string) string {
	f.tb.Helper()
	work := filepath.Join(f.dir, "operator.keys")
	if _, err := os.Stat(work); err != nil {
		copyFile(f.tb, f.instances[0].keys, work)
	}
	out, err := exec.Command(f.crumb, append([]string{"rotate"}, append(step, work)...)...).CombinedOutput()
	if err != nil {
		f.tb.Fatalf("crumb rotate %v: %v\n%s", step, err, out)
	}
	for _, m := range f.instances {
		copyFile(f.tb, work, m.keys)
		a := f.call(m, "/-/reload", nil)
		if a.Error != "" || !a.Changed {
			f.tb.Fatalf("%s reloading after %v: changed %v, %s", m.name, step, a.Changed, a.Error)
		}
		between()
	}
	return string(out)
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	tmp := to + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		tb.Fatal(err)
	}
}

// crumbDir holds the crumb command, built at most once per test binary
// and removed by TestMain.
var crumbDir string

var crumbOnce = sync.OnceValues(func() (string, error) {
	var err error
	crumbDir, err = os.MkdirTemp("", "crumb-fleet-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(crumbDir, "crumb")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/crumbhq/crumb/cmd/crumb").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building cmd/crumb: %v\n%s", err, out)
	}
	return bin, nil
})

// buildCrumb returns the crumb command, for key rotation.
func buildCrumb(tb testing.TB) string {
	tb.Helper()
	bin, err := crumbOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// proxy is a round-robin reverse proxy, the load balancer in front of the
// instances. It reads each answer whole before it sends anything, and on
// a transport error (an instance refusing connections, or dying
// mid-request) it sends the request to the next instance, as a load
// balancer set to retry on connection failures does (nginx:
// proxy_next_upstream error non_idempotent; Envoy: retry_on
// connect-failure,reset). That is safe here because the application's
// state travels in the cookie: an answer that never arrived changed
// nothing the client holds. Its Redis writes (a logout, a cut-off) are
// idempotent, and the test checks what a retry after one of them gives.
// It marks retried answers with X-Fleet-Retried. Retries are expected
// only while the test has an instance down (expectDown); any other
// retry means an instance failed by itself (a panic, a race), and is
// counted in unexpected.
type proxy struct {
	backends   []string
	next       atomic.Uint64
	transport  *http.Transport
	retries    atomic.Int64
	expectDown atomic.Bool
	unexpected atomic.Int64
}

func newProxy(backends []string) *proxy {
	return &proxy{backends: backends, transport: &http.Transport{MaxIdleConnsPerHost: 64, ResponseHeaderTimeout: 30 * time.Second}}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/-/") {
		http.NotFound(w, r) // the admin routes are not public
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := p.next.Add(1)
	var lastErr error
	for attempt := range 2 * len(p.backends) {
		target := p.backends[(start+uint64(attempt))%uint64(len(p.backends))]
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = "http", target
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		resp, err := p.transport.RoundTrip(out)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			lastErr = err
			p.retries.Add(1)
			if !p.expectDown.Load() {
				p.unexpected.Add(1)
			}
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if attempt > 0 {
			w.Header().Set("X-Fleet-Retried", strconv.Itoa(attempt))
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
		return
	}
	http.Error(w, "no instance answered: "+lastErr.Error(), http.StatusBadGateway)
}

// tally counts responses by status and keeps their latencies.
type tally struct {
	mu        sync.Mutex
	statuses  map[int]int
	latencies []time.Duration
}

func (t *tally) add(status int, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.statuses == nil {
		t.statuses = map[int]int{}
	}
	t.statuses[status]++
	t.latencies = append(t.latencies, d)
}

func (t *tally) count(pred func(int) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for s, c := range t.statuses {
		if pred(s) {
			n += c
		}
	}
	return n
}

// summary is one line: requests, per-status counts, latency percentiles.
func (t *tally) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := slices.Clone(t.latencies)
	slices.Sort(l)
	pct := func(p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	codes := make([]int, 0, len(t.statuses))
	for s := range t.statuses {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests;", len(l))
	for _, s := range codes {
		fmt.Fprintf(&b, " %d×%d", t.statuses[s], s)
	}
	fmt.Fprintf(&b, "; latency p50 %v p90 %v p99 %v max %v",
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	return b.String()
}

// progress lets the test wait until every client has done some more work:
// each client calls done after each step, and wait(n) returns once every
// client has done n steps since the call (or the context ends).
type progress struct {
	mu      sync.Mutex
	steps   []int
	changed chan struct{}
}

func newProgress(clients int) *progress {
	return &progress{steps: make([]int, clients), changed: make(chan struct{})}
}

func (p *progress) done(client int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps[client]++
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *progress) wait(ctx context.Context, n int) error {
	p.mu.Lock()
	base := slices.Clone(p.steps)
	p.mu.Unlock()
	for {
		p.mu.Lock()
		behind := -1
		for i, s := range p.steps {
			if s-base[i] < n {
				behind = i
				break
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if behind < 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("client %d made no progress: %w", behind, context.Cause(ctx))
		}
	}
}
