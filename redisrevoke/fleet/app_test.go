package fleet

// The instance: the small application the fleet runs three copies of, each
// a separate process (this test binary started again with
// CRUMB_FLEET_INSTANCE set; see TestMain). Its state lives in the session
// cookie (a user and a counter), its revocations in Redis, its keys in a
// key file it reloads when told to, or on the automatic schedule.
//
// Public routes (reached through the proxy):
//
//	POST /login       user=NAME: a fresh session (CycleKey) for NAME, counter 0
//	GET  /counter     the session's user and counter
//	POST /incr        counter+1
//	POST /logout      Flush: the session ends here and, through Redis, everywhere
//	POST /logout-all  every session of the user ends; this device gets a new one, same contents
//
// A request without a usable session gets 401 and the reason (login,
// revoked, expired, invalid); a session the Revoker could not check gets
// 503. Admin routes (/-/..., reached directly, never through the proxy):
// reload the key file, move the clock, stats and leak counts.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/redisrevoke"
	"github.com/crumbhq/crumb/rotation"
	"github.com/redis/go-redis/v9"
)

// The instance's settings, from its environment.
const (
	envInstance = "CRUMB_FLEET_INSTANCE" // its name; set: run as an instance
	envAddr     = "CRUMB_FLEET_ADDR"     // listen address
	envRedis    = "CRUMB_FLEET_REDIS"    // Redis's unix socket
	envKeys     = "CRUMB_FLEET_KEYS"     // key file (rotation.FileSource)
	envMaster   = "CRUMB_FLEET_MASTER"   // or: master key file, automatic schedule
	envOffset   = "CRUMB_FLEET_OFFSET"   // the clock's initial offset from the real time
	envBare     = "CRUMB_FLEET_BARE"     // "1": the same routes without sessions
	envNoRedis  = "CRUMB_FLEET_NOREDIS"  // "1": sessions without the Redis Revoker
)

// The sessions' settings, shared by the instances and the test's checks.
const (
	lifetime   = 8 * time.Hour
	clockSkew  = 2 * time.Minute
	period     = 2 * time.Hour   // of the automatic schedule
	previous   = 4               // periods: Previous × Period covers lifetime
	checkLimit = 2 * time.Second // the Revoker's Timeout, as in its example
)

// instance is one running copy of the application.
type instance struct {
	name     string
	sessions *cookiesession.Manager
	revoker  *redisrevoke.Revoker
	rdb      *redis.Client
	file     *rotation.FileSource // nil on the schedule
	offset   atomic.Int64         // the clock's offset from the real time, ns
	conns    connCounter
	// redisFailures counts the commands to Redis that failed, so that the
	// test can keep Redis down until every instance has met the outage.
	redisFailures failureCounter
}

// runInstance runs the instance its environment describes until killed.
func runInstance() error {
	in := &instance{name: os.Getenv(envInstance)}
	if off := os.Getenv(envOffset); off != "" {
		d, err := time.ParseDuration(off)
		if err != nil {
			return err
		}
		in.offset.Store(int64(d))
	}
	var h http.Handler
	if os.Getenv(envBare) == "1" {
		h = in.bareRoutes()
	} else {
		if err := in.setup(); err != nil {
			return err
		}
		h = in.sessions.Handler(in.routes())
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/-/", in.admin)
	l, err := net.Listen("tcp", os.Getenv(envAddr))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ConnState: in.conns.track, ReadHeaderTimeout: 10 * time.Second}
	// The test waits for this line before it sends traffic.
	fmt.Printf("listening %s\n", l.Addr())
	return srv.Serve(l)
}

// now is the instance's clock: the real time moved by its offset, which
// the test sets to skew the instances or to move them all forward.
func (in *instance) now() time.Time {
	return time.Now().Add(time.Duration(in.offset.Load()))
}

func (in *instance) setup() error {
	// The client of the package example (redisrevoke/example_test.go),
	// but on a unix socket: attempts that give way within the Revoker's
	// timeout, and a connection for every request in flight.
	in.rdb = redis.NewClient(&redis.Options{
		Network:               "unix",
		Addr:                  os.Getenv(envRedis),
		ContextTimeoutEnabled: true,
		DialTimeout:           250 * time.Millisecond,
		ReadTimeout:           250 * time.Millisecond,
		WriteTimeout:          250 * time.Millisecond,
		MaxRetries:            -1,
		DialerRetries:         1,
		PoolSize:              256,
	})
	in.rdb.AddHook(&in.redisFailures)
	var err error
	in.revoker, err = redisrevoke.New(redisrevoke.Config{
		Client:      in.rdb,
		Prefix:      "fleet:",
		MaxLifetime: lifetime,
		ClockSkew:   clockSkew,
		Timeout:     checkLimit,
	})
	if err != nil {
		return err
	}
	var keys rotation.Source
	if path := os.Getenv(envKeys); path != "" {
		in.file, err = rotation.NewFileSource(path)
		if err != nil {
			return err
		}
		keys = in.file
	} else {
		text, err := os.ReadFile(os.Getenv(envMaster))
		if err != nil {
			return err
		}
		master, err := crypto.ParseKey(strings.TrimSpace(string(text)))
		if err != nil {
			return err
		}
		keys, err = rotation.NewSchedule(master, rotation.ScheduleConfig{Period: period, Previous: previous, ClockSkew: clockSkew})
		if err != nil {
			return err
		}
	}
	var revoker cookiesession.Revoker = in.revoker
	if os.Getenv(envNoRedis) == "1" {
		revoker = nil
	}
	in.sessions, err = cookiesession.New(cookiesession.Config{
		Keys:             keys,
		Revoker:          revoker,
		Lifetime:         lifetime,
		AbsoluteLifetime: lifetime,
		ClockSkew:        clockSkew,
		Clock:            in.now,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("instance", in.name),
	})
	return err
}

// state is every public route's answer.
type state struct {
	User    string `json:"user,omitempty"`
	Counter int    `json:"counter"`
	Error   string `json:"error,omitempty"`
}

func reply(w http.ResponseWriter, status int, st state) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(st)
}

func (in *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		user := r.FormValue("user")
		if user == "" {
			reply(w, http.StatusBadRequest, state{Error: "no user"})
			return
		}
		// Django's login: a new session ID for the new privilege level.
		s.Clear()
		if err := s.CycleKey(); err != nil {
			in.fail(w, err)
			return
		}
		if err := errors.Join(s.SetSubject(user), s.Set("user", user), s.Set("counter", 0)); err != nil {
			in.fail(w, err)
			return
		}
		reply(w, http.StatusOK, state{User: user})
	})
	mux.HandleFunc("GET /counter", func(w http.ResponseWriter, r *http.Request) {
		if s, st, ok := in.user(w, r); ok {
			_ = s
			reply(w, http.StatusOK, st)
		}
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		s, st, ok := in.user(w, r)
		if !ok {
			return
		}
		st.Counter++
		if err := s.Set("counter", st.Counter); err != nil {
			in.fail(w, err)
			return
		}
		reply(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if err := s.Flush(); err != nil {
			// The cookie is deleted all the same; the deny entry is not
			// written: say so.
			in.fail(w, err)
			return
		}
		reply(w, http.StatusOK, state{})
	})
	mux.HandleFunc("POST /logout-all", func(w http.ResponseWriter, r *http.Request) {
		s, st, ok := in.user(w, r)
		if !ok {
			return
		}
		// First cut off every session of the user issued until now, this
		// one included; then start a new session for this device with the
		// same contents, issued when it is saved, after the cut-off. In
		// this order a crash between the two steps (the fleet test kills
		// instances) leaves the user logged out everywhere, this device
		// included, and never logged out only here.
		if err := in.revoker.RevokeSubject(r.Context(), st.User, in.now()); err != nil {
			in.fail(w, err)
			return
		}
		// Flush's own deny entry is redundant now: the cut-off ends this
		// session everywhere, so its failure changes nothing.
		_ = s.Flush()
		if err := errors.Join(s.SetSubject(st.User), s.Set("user", st.User), s.Set("counter", st.Counter)); err != nil {
			in.fail(w, err)
			return
		}
		reply(w, http.StatusOK, st)
	})
	return mux
}

// user returns the request's logged-in session and its state, or answers
// the request and returns false.
func (in *instance) user(w http.ResponseWriter, r *http.Request) (*cookiesession.Session, state, bool) {
	s, _ := cookiesession.FromContext(r.Context())
	if err := s.Err(); err != nil {
		switch {
		case errors.Is(err, cookiesession.ErrRevoked):
			reply(w, http.StatusUnauthorized, state{Error: "revoked"})
		case errors.Is(err, cookiesession.ErrExpired):
			reply(w, http.StatusUnauthorized, state{Error: "expired"})
		case errors.Is(err, cookiesession.ErrInvalid):
			reply(w, http.StatusUnauthorized, state{Error: "invalid: " + crypto.ReasonOf(err).String()})
		default: // not the cookie's fault: Redis could not be asked
			in.fail(w, err)
		}
		return nil, state{}, false
	}
	user, ok, err := cookiesession.Get[string](s, "user")
	if err != nil || !ok {
		reply(w, http.StatusUnauthorized, state{Error: "login"})
		return nil, state{}, false
	}
	n, _, err := cookiesession.Get[int](s, "counter")
	if err != nil {
		in.fail(w, err)
		return nil, state{}, false
	}
	return s, state{User: user, Counter: n}, true
}

// fail answers 503 for a failure that is not the client's: the fleet test
// counts every 5xx as a failure, and the log says what it was.
func (in *instance) fail(w http.ResponseWriter, err error) {
	fmt.Fprintf(os.Stderr, "instance %s: FAILED: %v\n", in.name, err)
	w.Header().Set("Retry-After", "1")
	reply(w, http.StatusServiceUnavailable, state{Error: "unavailable"})
}

// bareRoutes answers the same routes with the same bodies and no session:
// the baseline for the fleet's throughput.
func (in *instance) bareRoutes() http.Handler {
	var counter atomic.Int64
	h := func(w http.ResponseWriter, r *http.Request) {
		n := counter.Add(1)
		reply(w, http.StatusOK, state{User: r.FormValue("user"), Counter: int(n)})
	}
	mux := http.NewServeMux()
	for _, p := range []string{"POST /login", "GET /counter", "POST /incr", "POST /logout", "POST /logout-all"} {
		mux.HandleFunc(p, h)
	}
	return mux
}

// adminState is what the admin routes answer.
type adminState struct {
	Keys       []string             `json:"keys,omitempty"` // ID:state, the primary first
	Changed    bool                 `json:"changed,omitempty"`
	Stats      *cookiesession.Stats `json:"stats,omitempty"`
	Goroutines int                  `json:"goroutines"`
	Conns      int                  `json:"conns"`       // open HTTP connections, this one included
	RedisConns int                  `json:"redis_conns"` // connections in the Redis client's pool
	RedisIdle  int                  `json:"redis_idle"`
	// RedisFailures counts the failed commands to Redis since start.
	RedisFailures int    `json:"redis_failures"`
	Error         string `json:"error,omitempty"`
}

func (in *instance) admin(w http.ResponseWriter, r *http.Request) {
	var a adminState
	switch r.URL.Path {
	case "/-/reload":
		if in.file == nil {
			http.Error(w, "no key file", http.StatusBadRequest)
			return
		}
		changed, err := in.file.Reload()
		if err != nil {
			a.Error = err.Error()
		}
		a.Changed = changed
	case "/-/clock":
		d, err := time.ParseDuration(r.FormValue("offset"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.offset.Store(int64(d))
	case "/-/quiesce":
		// Wait (a bounded while) for the connections the proxy closed to
		// be gone and for their goroutines to end, then report.
		in.conns.waitFor(func(n int) bool { return n <= 1 }, 5*time.Second)
		waitGoroutines(r.Context(), atoi(r.FormValue("goroutines")), 5*time.Second)
	case "/-/await-redis-failure":
		// Wait (a bounded while) until a command to Redis has failed
		// after the caller's count.
		after := atoi(r.FormValue("after"))
		in.redisFailures.waitFor(func(n int) bool { return n > after }, 10*time.Second)
	case "/-/stats":
	default:
		http.NotFound(w, r)
		return
	}
	if in.file != nil {
		for _, e := range in.file.At(time.Time{}).Entries() {
			a.Keys = append(a.Keys, e.Key.ID().String()+":"+e.State.String())
		}
	}
	if in.sessions != nil {
		st := in.sessions.Stats()
		a.Stats = &st
	}
	a.Goroutines = runtime.NumGoroutine()
	a.Conns = in.conns.value()
	if in.rdb != nil {
		ps := in.rdb.PoolStats()
		a.RedisConns, a.RedisIdle = int(ps.TotalConns), int(ps.IdleConns)
		a.RedisFailures = in.redisFailures.value()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// waitGoroutines waits, at most limit, until no more than n goroutines
// run (n ≤ 0: returns at once). Goroutines end on their own schedule and
// announce it nowhere: this polls.
func waitGoroutines(ctx context.Context, n int, limit time.Duration) {
	if n <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) && ctx.Err() == nil {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// watched is a count that callers can wait on, woken by each change.
type watched struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced at each change
}

func (w *watched) add(d int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += d
	if w.changed != nil {
		close(w.changed)
		w.changed = nil
	}
}

func (w *watched) value() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// waitFor waits until ok holds of the count, or limit passes.
func (w *watched) waitFor(ok func(int) bool, limit time.Duration) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		w.mu.Lock()
		if ok(w.n) {
			w.mu.Unlock()
			return
		}
		if w.changed == nil {
			w.changed = make(chan struct{})
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// connCounter counts a server's open connections (its ConnState hook).
type connCounter struct{ watched }

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.add(1)
	case http.StateClosed, http.StateHijacked:
		c.add(-1)
	}
}

// failureCounter is a go-redis hook that counts failed commands.
type failureCounter struct{ watched }

func (f *failureCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failureCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (f *failureCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && err != redis.Nil {
			f.add(1)
		}
		return err
	}
}
