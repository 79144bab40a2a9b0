package redisrevoke

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/redis/go-redis/v9"
)

func TestRevoke(t *testing.T) {
	t.Parallel()
	r := newRevoker(t, nil)
	info := cookiesession.Info{ID: "session-a", IssuedAt: time.Now()}
	if err := r.Check(ctx, info); err != nil {
		t.Fatalf("before Revoke: %v", err)
	}
	until := time.Now().Add(time.Hour)
	if err := r.Revoke(ctx, info, until); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("after Revoke: %v, want ErrRevoked", err)
	}
	if err := r.Check(ctx, cookiesession.Info{ID: "session-b"}); err != nil {
		t.Errorf("another ID: %v", err)
	}
	// The key expires when until says: nothing to prune.
	ttl, err := r.cfg.Client.PTTL(ctx, r.idKey(info.ID)).Result()
	if err != nil || ttl > time.Hour || ttl < time.Hour-time.Minute {
		t.Errorf("the deny entry lives %v (%v), want about an hour", ttl, err)
	}
	// An until already past writes nothing.
	if err := r.Revoke(ctx, cookiesession.Info{ID: "session-c"}, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.cfg.Client.Exists(ctx, r.idKey("session-c")).Result(); n != 0 {
		t.Errorf("a past until left a key")
	}
}

func TestRevokeSubject(t *testing.T) {
	t.Parallel()
	r := newRevoker(t, nil)
	cut := time.Now()
	if err := r.RevokeSubject(ctx, "ann", cut); err != nil {
		t.Fatal(err)
	}
	before := cookiesession.Info{ID: "1", Subject: "ann", IssuedAt: cut.Add(-time.Nanosecond)}
	after := cookiesession.Info{ID: "2", Subject: "ann", IssuedAt: cut}
	other := cookiesession.Info{ID: "3", Subject: "bob", IssuedAt: cut.Add(-time.Hour)}
	if err := r.Check(ctx, before); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("issued before the cut-off: %v", err)
	}
	if err := r.Check(ctx, after); err != nil {
		t.Errorf("issued at the cut-off: %v", err)
	}
	if err := r.Check(ctx, other); err != nil {
		t.Errorf("another subject: %v", err)
	}
	// An earlier cut-off changes nothing; a later one wins.
	if err := r.RevokeSubject(ctx, "ann", cut.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, before); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("an earlier cut-off undid the later one: %v", err)
	}
	// A cut-off one nanosecond later wins: no rounding.
	if err := r.RevokeSubject(ctx, "ann", cut.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, after); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("a cut-off 1ns later did not apply: %v", err)
	}
	if err := r.RevokeSubject(ctx, "ann", cut.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, after); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("a later cut-off did not apply: %v", err)
	}
	// Kept as long as a session issued before it may live.
	ttl, err := r.cfg.Client.PTTL(ctx, r.subjectKey("ann")).Result()
	want := 8*time.Hour + 2*time.Minute
	if err != nil || ttl > want+time.Second || ttl < want-time.Minute {
		t.Errorf("the cut-off lives %v (%v), want about %v", ttl, err, want)
	}
}

func TestPrefixes(t *testing.T) {
	t.Parallel()
	a := newRevoker(t, func(c *Config) { c.Prefix += "a:" })
	b := newRevoker(t, func(c *Config) { c.Prefix += "b:" })
	info := cookiesession.Info{ID: "shared-id", Subject: "ann", IssuedAt: time.Now().Add(-time.Minute)}
	if err := a.Revoke(ctx, info, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSubject(ctx, "ann", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, info); err != nil {
		t.Errorf("another prefix saw the revocation: %v", err)
	}
}

// unreachable returns a client of a server that accepts connections and
// never answers (slow), or of a port where nothing listens (down).
func unreachable(t *testing.T, slow bool) redis.UniversalClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if slow {
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
	} else {
		l.Close()
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisSlowOrDown: each call gives up after Timeout; Check fails
// closed (an error that is not ErrRevoked) or, with FailOpen, accepts.
func TestRedisSlowOrDown(t *testing.T) {
	t.Parallel()
	for _, slow := range []bool{true, false} {
		for _, open := range []bool{false, true} {
			r, err := New(Config{Client: unreachable(t, slow), MaxLifetime: time.Hour, Timeout: 50 * time.Millisecond, FailOpen: open})
			if err != nil {
				t.Fatal(err)
			}
			info := cookiesession.Info{ID: "x", Subject: "ann", IssuedAt: time.Now()}
			err = r.Check(ctx, info)
			switch {
			case open && err != nil:
				t.Errorf("slow %v, FailOpen: Check = %v, want nil", slow, err)
			case !open && (err == nil || errors.Is(err, cookiesession.ErrRevoked)):
				t.Errorf("slow %v, fail closed: Check = %v, want an error that is not ErrRevoked", slow, err)
			}
			if err := r.Revoke(ctx, info, time.Now().Add(time.Hour)); err == nil {
				t.Errorf("slow %v: Revoke reported success without Redis", slow)
			}
		}
	}
}

// failing makes a client's first n commands fail with err, as an
// unreachable, loading, slow or refusing Redis does, and counts the
// commands, leaving out those that set up a connection.
type failing struct {
	n     int
	err   error
	calls int
}

type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

type timeoutError struct{}

func (timeoutError) Error() string { return "i/o timeout" }
func (timeoutError) Timeout() bool { return true }

var (
	errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	errLoading = replyError("LOADING Redis is loading the dataset in memory")
	errReply   = replyError("WRONGTYPE Operation against a key holding the wrong kind of value")
	errSlow    = &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}
)

func (f *failing) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "hello" || n == "client" {
			return next(ctx, cmd) // setting up a connection
		}
		f.calls++
		if f.calls <= f.n {
			cmd.SetErr(f.err)
			return f.err
		}
		return next(ctx, cmd)
	}
}
func (f *failing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRetries: every call tries again, within Timeout, while Redis cannot
// be reached (a restart) or is loading its data, pausing between attempts
// (10ms doubling to 100ms: at most 6 attempts in 200ms); a timed-out
// attempt is tried once more, not again; Redis's own error ends it at
// once. Check then fails closed or, with FailOpen, open.
func TestRetries(t *testing.T) {
	t.Parallel()
	info := cookiesession.Info{ID: "retried", Subject: "ann", IssuedAt: time.Now()}
	calls := map[string]func(*Revoker) error{
		"Check":         func(r *Revoker) error { return r.Check(ctx, info) },
		"Revoke":        func(r *Revoker) error { return r.Revoke(ctx, info, time.Now().Add(time.Hour)) },
		"RevokeSubject": func(r *Revoker) error { return r.RevokeSubject(ctx, "ann", time.Now()) },
	}
	const timeout = 200 * time.Millisecond
	always := 1 << 30
	for name, call := range calls {
		for _, tc := range []struct {
			name         string
			f            failing
			open         bool
			wantErr      bool
			wantDeadline bool // the error says the Timeout ran out
			min, max     int  // attempts
		}{
			{name: "refused three times", f: failing{n: 3, err: errRefused}, min: 4, max: 4},
			{name: "loading three times", f: failing{n: 3, err: errLoading}, min: 4, max: 4},
			{name: "refused throughout", f: failing{n: always, err: errRefused}, wantErr: true, wantDeadline: true, min: 4, max: 6},
			{name: "refused throughout, FailOpen", f: failing{n: always, err: errRefused}, open: true, wantErr: name != "Check", wantDeadline: name != "Check", min: 4, max: 6},
			{name: "a timeout, then an answer", f: failing{n: 1, err: errSlow}, min: 2, max: 2},
			{name: "timeouts throughout", f: failing{n: always, err: errSlow}, wantErr: true, min: 2, max: 2},
			{name: "a reply error", f: failing{n: 1, err: errReply}, wantErr: true, min: 1, max: 1},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				f := tc.f
				r := newRevoker(t, func(c *Config) {
					c.Timeout = timeout
					c.FailOpen = tc.open
					c.Client.AddHook(&f)
				})
				start := time.Now()
				err := call(r)
				took := time.Since(start)
				if (err != nil) != tc.wantErr || errors.Is(err, cookiesession.ErrRevoked) {
					t.Fatalf("err = %v, want an error: %v (never ErrRevoked)", err, tc.wantErr)
				}
				if tc.wantDeadline && (!errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECONNREFUSED)) {
					t.Errorf("err = %v, want it to wrap the deadline and the last attempt's error", err)
				}
				if f.calls < tc.min || f.calls > tc.max {
					t.Errorf("%d attempts in %v, want %d to %d", f.calls, took, tc.min, tc.max)
				}
				if tc.wantDeadline && (took < timeout || took > timeout+150*time.Millisecond) {
					t.Errorf("took %v, want about the Timeout, %v", took, timeout)
				}
			})
		}
	}
}

// TestRevokeOutlivesClient: a logout is written even if the request's
// context is canceled (the tab closed) before Redis answers.
func TestRevokeOutlivesClient(t *testing.T) {
	t.Parallel()
	r := newRevoker(t, nil)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	info := cookiesession.Info{ID: "closed-tab", Subject: "ann", IssuedAt: time.Now().Add(-time.Minute)}
	if err := r.Revoke(gone, info, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Revoke with a canceled context: %v", err)
	}
	if err := r.RevokeSubject(gone, "ann", time.Now()); err != nil {
		t.Fatalf("RevokeSubject with a canceled context: %v", err)
	}
	if err := r.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("after a logout whose client went away: Check = %v, want ErrRevoked", err)
	}
}

// TestManagers: a logout on one instance holds on another sharing the
// Redis server; with Redis down, a valid cookie is not used for the
// request but is kept.
func TestManagers(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	r := newRevoker(t, nil)
	one, two := newManager(t, keys, r), newManager(t, keys, r)

	s := one.Load(ctx)
	if err := s.Set("user", "ann"); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if err := one.Commit(s, http.StatusOK, h); err != nil {
		t.Fatal(err)
	}
	cookie, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	if s := two.Load(ctx, cookie); s.Len() != 1 {
		t.Fatalf("instance two does not open instance one's cookie")
	}
	out := one.Load(ctx, cookie)
	if err := out.Flush(); err != nil { // logout on instance one
		t.Fatal(err)
	}
	again := two.Load(ctx, cookie)
	if again.Len() != 0 || !errors.Is(again.Err(), cookiesession.ErrRevoked) {
		t.Errorf("instance two still opens the logged-out cookie: %d keys, %v", again.Len(), again.Err())
	}

	// Redis down: the cookie of a live session is not used, nor deleted.
	s = one.Load(ctx)
	s.Set("user", "bob")
	h = http.Header{}
	if err := one.Commit(s, http.StatusOK, h); err != nil {
		t.Fatal(err)
	}
	live, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	down, err := New(Config{Client: unreachable(t, false), MaxLifetime: time.Hour, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	blind := newManager(t, keys, down)
	got := blind.Load(ctx, live)
	if got.Len() != 0 || got.Err() == nil || errors.Is(got.Err(), cookiesession.ErrRevoked) {
		t.Errorf("Redis down: %d keys, %v; want no session and an error that is not ErrRevoked", got.Len(), got.Err())
	}
	h = http.Header{}
	if err := blind.Commit(got, http.StatusOK, h); err != nil {
		t.Fatal(err)
	}
	if sc := h.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("Redis down: the response sets %q; a cookie that could not be checked is never deleted", sc)
	}
}

// commandCounter counts the commands a client sends.
type commandCounter struct{ n int }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n++
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n += len(cmds)
		return next(ctx, cmds)
	}
}

// TestOneRoundTrip: Check sends one command, subject or not.
func TestOneRoundTrip(t *testing.T) {
	if redisAddr == "" {
		t.Skip("no redis-server: install it (Debian: apt-get install redis-server), then run go test ./redisrevoke")
	}
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil { // the connection's own set-up is not counted
		t.Fatal(err)
	}
	count := &commandCounter{}
	c.AddHook(count)
	r, err := New(Config{Client: c, Prefix: "test:oneroundtrip:", MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range []cookiesession.Info{{ID: "a"}, {ID: "b", Subject: "ann"}} {
		before := count.n
		if err := r.Check(ctx, info); err != nil {
			t.Fatal(err)
		}
		if n := count.n - before; n != 1 {
			t.Errorf("Check of %+v sent %d commands, want 1", info, n)
		}
	}
}

// BenchmarkCheck measures what Check adds to a request that carries a
// session: one MGET to a loopback redis-server, with p50 and p99.
func BenchmarkCheck(b *testing.B) {
	if redisAddr == "" {
		b.Skip("no redis-server")
	}
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	defer c.Close()
	r, err := New(Config{Client: c, Prefix: "bench:", MaxLifetime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	info := cookiesession.Info{ID: "a-session-id", Subject: "ann", IssuedAt: time.Now()}
	latencies := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := r.Check(ctx, info); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
}
