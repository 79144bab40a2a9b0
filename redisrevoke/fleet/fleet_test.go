package fleet

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

// The defaults are the short run CI does (well under a minute); a long
// run, as the README says:
//
//	go test ./redisrevoke/fleet -run Fleet -v -timeout 30m -fleet.clients 64 -fleet.steps 40 -fleet.cycles 5
var (
	flagClients = flag.Int("fleet.clients", 24, "concurrent clients, each with its own cookie jar")
	flagSteps   = flag.Int("fleet.steps", 3, "requests every client makes between two events of the run")
	flagCycles  = flag.Int("fleet.cycles", 1, "how many times the run repeats its events (rotation, instance kill, Redis restart)")
	flagLimit   = flag.Duration("fleet.limit", 20*time.Minute, "the most a fleet run may take")
)

// TestFleet runs three instances behind a round-robin proxy, with keys in
// key files and revocations in one Redis, under a few dozen clients, and
// during the run rotates the key across the instances one by one, kills
// and restarts an instance, and kills and restarts Redis. It checks: no
// 5xx; every counter update counted exactly once; every logged-out cookie
// refused by every instance from the next request, and still after Redis
// restarted; no instance failing by itself (a panic, a race); no goroutine
// or connection left behind.
func TestFleet(t *testing.T) {
	t.Parallel()
	f := startFleet(t, fleetConfig{})
	r := startRun(t, f, true)
	killed := map[string]cookiesession.KeyStats{}

	r.phase("warm-up")
	for cycle := range *flagCycles {
		old := f.call(f.instances[0], "/-/stats", nil).Keys[0]
		old = strings.TrimSuffix(old, ":primary")
		// A staged rotation, rolled out one instance at a time, with
		// traffic between any two reloads: add the new key as
		// decrypt-only everywhere, promote it everywhere, then retire the
		// old one once no cookie sealed by it arrives any more.
		f.rotate(func() { r.phase("rotation: add, one instance") }, "add")
		// -propagation 0: the propagation window is the time it takes to
		// reload every instance, which this run has just watched happen;
		// crumb rotate still checks the key was added before.
		f.rotate(func() { r.phase("rotation: promote, one instance") }, "promote", "-propagation", "0")
		before := f.opened(old)
		r.phase("rotation: every client re-sealed")
		if after := f.opened(old); after != before {
			t.Fatalf("cycle %d: cookies sealed by the old key %s still arrive after every client's session was re-sealed (%d opened, then %d)", cycle, old, before, after)
		}
		// -force: Keyring.RetireAt waits out a session lifetime; this run
		// has just shown that no cookie sealed by the old key is in use.
		f.rotate(func() { r.phase("rotation: retire, one instance") }, "retire", "-force")
		sinceRetire := r.revokedCount()

		// An instance dies mid-traffic (SIGKILL) and comes back.
		f.bounce(r, f.instances[1], killed)

		// Redis dies (SIGKILL), and stays down until every instance has
		// met the outage (a command failed), then comes back with what it
		// had written: every cookie logged out between the retirement and
		// the kill (all sealed by keys in force) is still refused as
		// revoked.
		failed := make([]int, len(f.instances))
		for i, m := range f.instances {
			failed[i] = f.call(m, "/-/stats", nil).RedisFailures
		}
		down, beforeKill := time.Now(), r.revokedCount()
		f.redis.kill()
		for i, m := range f.instances {
			if a := f.call(m, "/-/await-redis-failure", url.Values{"after": {fmt.Sprint(failed[i])}}); a.RedisFailures <= failed[i] {
				t.Fatalf("%s met no failure while Redis was down", m.name)
			}
		}
		f.redis.start(t)
		r.phase(fmt.Sprintf("Redis killed and restarted (down %v)", time.Since(down).Round(time.Millisecond)))
		r.replayAll(r.revokedSince(sinceRetire)[:beforeKill-sinceRetire], replayStrict)
	}
	r.finish(killed)
}

// TestFleetSchedule runs the fleet on the automatic key schedule, with
// the instances' clocks a minute apart (the configured skew is two), moved
// forward together across period boundaries: the instance whose clock is
// past a boundary seals with the next period's key while the others, still
// before it, must open what it seals (checked in their counts), and a
// period on, every session sealed before must still open. The same checks
// as TestFleet.
func TestFleetSchedule(t *testing.T) {
	t.Parallel()
	skews := []time.Duration{-time.Minute, 0, time.Minute}
	f := startFleet(t, fleetConfig{schedule: true, offsets: skews})
	sched := f.schedule()
	// Logging out everywhere is left out: see the fleet guide in
	// docs/OPERATIONS.md on subject cut-offs and skewed clocks.
	r := startRun(t, f, false)
	r.acceptExpired = true // the clocks move hours forward
	r.phase("warm-up")
	first := time.Now().Truncate(period).Add(period)
	for cycle := range *flagCycles {
		boundary := first.Add(time.Duration(cycle) * 2 * period)
		for _, at := range []time.Duration{-30 * time.Second, 30 * time.Second, 90 * time.Second, period - 30*time.Second} {
			if err := f.moveClocks(r, boundary.Add(at), skews); err != nil {
				t.Fatal(err)
			}
			r.phase(fmt.Sprintf("clocks at boundary%+v (%v, %v, %v)", at, skews[0], skews[1], skews[2]))
			if at == -30*time.Second || at == period-30*time.Second {
				// Only the fastest clock is past the boundary: it sealed
				// under the next period's key, and the others opened
				// what it sealed.
				next := sched.At(boundary.Add(at + 30*time.Second + time.Second)).Primary().ID().String()
				var st []cookiesession.KeyStats
				for _, m := range f.instances {
					st = append(st, f.call(m, "/-/stats", nil).Stats.Keys[next])
				}
				if st[2].Sealed == 0 || st[0].Opened+st[1].Opened == 0 {
					t.Errorf("at boundary%+v: the fast clock sealed %d cookies under the next key %s, the slower ones opened %d and %d of them; want some of each",
						at, st[2].Sealed, next, st[0].Opened, st[1].Opened)
				}
			}
		}
		f.bounce(r, f.instances[2], nil)
	}
	r.finish(nil)
}

// bounce kills m mid-traffic (SIGKILL) and starts it again, with traffic
// in both states; killed (if not nil) gets the counts it had. Meanwhile
// the proxy is told to expect requests failing at an instance.
func (f *fleet) bounce(r *run, m *member, killed map[string]cookiesession.KeyStats) {
	f.tb.Helper()
	if killed != nil {
		for id, ks := range f.call(m, "/-/stats", nil).Stats.Keys {
			killed[id] = addKeyStats(killed[id], ks)
		}
	}
	f.proxy.expectDown.Store(true)
	m.p.kill()
	r.phase("instance " + m.name + " killed")
	f.startMember(m, fleetConfig{})
	r.phase("instance " + m.name + " restarted")
	f.proxy.expectDown.Store(false)
}

// moveClocks sets every instance's clock to target plus its skew, all at
// once as far as the clients can tell: none sends a request meanwhile.
func (f *fleet) moveClocks(r *run, target time.Time, skews []time.Duration) error {
	r.gate.Lock()
	defer r.gate.Unlock()
	base := time.Until(target)
	for i, m := range f.instances {
		m.offset = base + skews[i]
		if _, err := f.tryCall(m, "/-/clock", url.Values{"offset": {m.offset.String()}}); err != nil {
			return err
		}
	}
	return nil
}

// startRun starts the clients on f; logoutAll adds logging out
// everywhere to their loop.
func startRun(t *testing.T, f *fleet, logoutAll bool) *run {
	ctx, cancel := context.WithCancelCause(context.Background())
	limit := time.AfterFunc(*flagLimit, func() { cancel(fmt.Errorf("the run took longer than -fleet.limit %v", *flagLimit)) })
	r := &run{
		f:         f,
		transport: &http.Transport{MaxIdleConnsPerHost: *flagClients * 2},
		direct:    &http.Transport{MaxIdleConnsPerHost: 16},
		prog:      newProgress(*flagClients),
		logoutAll: logoutAll,
		ctx:       ctx,
		cancel:    cancel,
	}
	var wg sync.WaitGroup
	for i := range *flagClients {
		c := r.newClient(i, fmt.Sprintf("user%d", i))
		wg.Go(func() { c.loop(ctx) })
	}
	r.stop = func() {
		r.stopping.Store(true)
		wg.Wait()
		limit.Stop()
		cancel(errStopped)
	}
	t.Cleanup(r.stop)
	r.t = t
	r.start = time.Now()
	return r
}

var errStopped = errors.New("the run is over")

// phase waits until every client has made -fleet.steps more requests:
// the traffic between two events.
func (r *run) phase(name string) {
	r.t.Helper()
	start := time.Now()
	if err := r.prog.wait(r.ctx, *flagSteps); err != nil {
		r.stop()
		r.t.Fatalf("%s: %v\n%s", name, err, r.report())
	}
	r.t.Logf("%s %-45s %6v", start.Format("15:04:05.000"), name, time.Since(start).Round(time.Millisecond))
}

// finish stops the clients and makes the final checks: no problem seen,
// no 5xx, every ended session refused by every instance, no leak; then it
// logs the summary.
func (r *run) finish(killed map[string]cookiesession.KeyStats) {
	t := r.t
	t.Helper()
	r.stop()
	elapsed := time.Since(r.start)
	if err := context.Cause(r.ctx); !errors.Is(err, errStopped) {
		t.Errorf("the run stopped early: %v", err)
	}
	// Every session ended during the run, at every instance, now.
	r.replayAll(r.revokedSince(0), replayFinal)
	if n := r.f.proxy.unexpected.Load(); n > 0 {
		t.Errorf("%d requests failed at an instance the test had not taken down (a panic, a race, a crash) and were retried by the proxy", n)
	}
	for _, p := range r.problems {
		t.Error(p)
	}
	if n := r.proxied.count(is5xx) + r.replays.count(is5xx); n > 0 {
		t.Errorf("%d answers were 5xx", n)
	}
	if n := r.proxied.count(func(s int) bool { return s == http.StatusOK }); n < *flagClients**flagSteps {
		t.Errorf("only %d requests succeeded", n)
	}
	r.checkLeaks()

	t.Logf("fleet: %d clients, %v, %d instances behind the proxy (%d requests retried on another instance)", *flagClients, elapsed.Round(time.Millisecond), len(r.f.instances), r.f.proxy.retries.Load())
	t.Logf("through the proxy: %s", r.proxied.summary())
	t.Logf("replays of logged-out cookies, straight to each instance: %s (%d not made: the instance was down; all made again at the end)", r.replays.summary(), r.skipped.Load())
	if r.retriedOut > 0 {
		t.Logf("%d logouts-everywhere whose instance died before answering ended their own session too", r.retriedOut)
	}
	keys := r.f.keyStats(killed)
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := keys[id]
		t.Logf("key %s: sealed %d, opened %d, re-sealed under the next key %d, refused %d", id, k.Sealed, k.Opened, k.Resealed, k.Rejected)
	}
}

func is5xx(s int) bool { return s >= 500 }

// report is the state of a run that failed, for the failure message.
func (r *run) report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "problems: %q\nproxied: %s\n", r.problems, r.proxied.summary())
	for _, m := range r.f.instances {
		fmt.Fprintf(&b, "--- %s's log:\n%s", m.name, m.log.String())
	}
	return b.String()
}

// checkLeaks closes the clients' and the proxy's idle connections and
// asks each instance to wait for them to be gone: then no instance may
// hold an HTTP connection but the asking one, more goroutines than it
// started with (give or take the Redis pool's), or a Redis connection in
// use.
func (r *run) checkLeaks() {
	t := r.t
	r.transport.CloseIdleConnections()
	r.direct.CloseIdleConnections()
	r.f.proxy.transport.CloseIdleConnections()
	r.f.admin.CloseIdleConnections()
	for _, m := range r.f.instances {
		a := r.f.call(m, "/-/quiesce", url.Values{"goroutines": {fmt.Sprint(goroutineAllowance)}})
		if a.Conns != 1 {
			t.Errorf("%s: %d HTTP connections open after every client closed its own (want 1, the asking one)", m.name, a.Conns)
		}
		if a.Goroutines > goroutineAllowance {
			t.Errorf("%s: %d goroutines after the run, want at most %d", m.name, a.Goroutines, goroutineAllowance)
		}
		if a.RedisConns != a.RedisIdle {
			t.Errorf("%s: %d Redis connections in use after the run", m.name, a.RedisConns-a.RedisIdle)
		}
		if problems := failures.FindAllString(m.log.String(), 5); len(problems) > 0 {
			t.Errorf("%s logged failures: %q", m.name, problems)
		}
		t.Logf("%s after the run: %d goroutines, %d HTTP connection, %d Redis connections (idle)", m.name, a.Goroutines, a.Conns, a.RedisConns)
	}
}

// goroutineAllowance bounds an idle instance's goroutines: the runtime's,
// the server's accept loop, the admin connection's two, and the Redis
// client's pool. A leak grows with the requests served: thousands here.
const goroutineAllowance = 12

// failures matches what an instance logs when it fails a request (see
// instance.fail), crumb logs at Error level, net/http logs for a handler's
// panic, or the race detector reports.
var failures = regexp.MustCompile(`(?m)^.*(FAILED|level=ERROR|panic|DATA RACE).*$`)

// opened counts, over the instances, the cookies sealed by key id that
// became sessions.
func (f *fleet) opened(id string) uint64 {
	var n uint64
	for _, m := range f.instances {
		n += f.call(m, "/-/stats", nil).Stats.Keys[id].Opened
	}
	return n
}

// keyStats sums the instances' per-key counts, and extra's.
func (f *fleet) keyStats(extra map[string]cookiesession.KeyStats) map[string]cookiesession.KeyStats {
	sum := map[string]cookiesession.KeyStats{}
	for id, k := range extra {
		sum[id] = addKeyStats(sum[id], k)
	}
	for _, m := range f.instances {
		for id, k := range f.call(m, "/-/stats", nil).Stats.Keys {
			sum[id] = addKeyStats(sum[id], k)
		}
	}
	return sum
}

func addKeyStats(a, b cookiesession.KeyStats) cookiesession.KeyStats {
	return cookiesession.KeyStats{Opened: a.Opened + b.Opened, Resealed: a.Resealed + b.Resealed, Sealed: a.Sealed + b.Sealed, Rejected: a.Rejected + b.Rejected}
}

// BenchmarkFleet measures the fleet's throughput through the proxy, with
// sessions (a Redis check on every request, a re-seal on every update),
// with sessions but no Revoker, and without sessions (the same routes
// and bodies): each
// parallel client logs in, then updates and reads its counter in turn.
// Compare the two in one run; the README gives a run's figures.
func BenchmarkFleet(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  fleetConfig
	}{
		{"bare", fleetConfig{bare: true}},
		{"sessions", fleetConfig{}},
		{"sessions-without-redis", fleetConfig{noRedis: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := startFleet(b, tc.cfg)
			transport := &http.Transport{MaxIdleConnsPerHost: 256}
			defer transport.CloseIdleConnections()
			r := &run{f: f, transport: transport}
			var n atomic.Int64
			b.SetParallelism(8) // 16 clients on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := r.newClient(0, fmt.Sprintf("bench%d", n.Add(1)))
				if a, err := c.do(b.Context(), "POST", "/login", url.Values{"user": {c.user}}); err != nil || a.status != http.StatusOK {
					b.Errorf("login: %d %v", a.status, err)
					return
				}
				for i := 0; pb.Next(); i++ {
					var a answer
					var err error
					if i%2 == 0 {
						a, err = c.do(b.Context(), "POST", "/incr", nil)
					} else {
						a, err = c.do(b.Context(), "GET", "/counter", nil)
					}
					if err != nil || a.status != http.StatusOK {
						b.Errorf("%d %v", a.status, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
