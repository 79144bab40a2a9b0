package fleet

// The clients: each a user with its own cookie jar, going round a loop of
// logging in, reading and updating its counter, logging out (and checking
// that every instance refuses the cookie it logged out with) and, where
// the run asks for it, logging out everywhere from a second device.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// run is what the clients share: the fleet, the tallies, what they saw.
type run struct {
	f         *fleet
	transport *http.Transport // the clients' connections to the proxy
	direct    *http.Transport // replays straight to the instances
	proxied   tally           // every request through the proxy
	replays   tally           // every replay of a logged-out cookie
	prog      *progress
	logoutAll bool // clients also log out everywhere from a second device
	// acceptExpired lets the final sweep find a logged-out cookie expired
	// (the schedule run moves the clocks hours forward).
	acceptExpired bool
	// gate holds the clients while the test moves every instance's
	// clock: time passes for all of them at once, so no request may see
	// one instance moved and another not.
	gate       sync.RWMutex
	stopping   atomic.Bool  // the clients finish the step they are in, then stop
	skipped    atomic.Int64 // replays not made: the instance was down
	mu         sync.Mutex
	problems   []string
	revoked    []string // Cookie headers of ended sessions, for the final sweep
	retriedOut int      // logouts-everywhere retried by the proxy that ended their own session
	t          *testing.T
	start      time.Time
	stop       func()          // stops the clients and waits for them
	ctx        context.Context // the clients' run; ends when they stop
	cancel     context.CancelCauseFunc
}

// problem records something the fleet must never do; after a few, the run
// stops.
func (r *run) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
	if len(r.problems) >= 10 {
		r.cancel(fmt.Errorf("%d problems", len(r.problems)))
	}
}

// client is one user of the fleet.
type client struct {
	r       *run
	id      int
	user    string
	http    *http.Client
	counter int // what the server must answer next
	in      bool
}

func (r *run) newClient(id int, user string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{r: r, id: id, user: user, http: &http.Client{Transport: r.transport, Jar: jar}}
}

// answer is a response's status, body and the proxy's retry mark.
type answer struct {
	status  int
	state   state
	retried bool
}

// do sends a request through the proxy with the client's jar.
func (c *client) do(ctx context.Context, method, path string, form url.Values) (answer, error) {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.r.f.url+path, body)
	if err != nil {
		return answer{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	c.r.proxied.add(resp.StatusCode, time.Since(start))
	a := answer{status: resp.StatusCode, retried: resp.Header.Get("X-Fleet-Retried") != ""}
	if err := json.NewDecoder(resp.Body).Decode(&a.state); err != nil {
		return a, fmt.Errorf("%s %s: %s, body not JSON: %v", method, path, resp.Status, err)
	}
	return a, nil
}

// cookie is the Cookie header the client's jar sends to the fleet.
func (c *client) cookie() string {
	u, _ := url.Parse(c.r.f.url)
	var parts []string
	for _, ck := range c.http.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// expect checks an answer: status 200 and the client's counter.
func (c *client) expect(op string, a answer, err error) bool {
	if err != nil {
		if c.r.stopped() {
			return false
		}
		c.r.problem("client %d %s: %v", c.id, op, err)
		return false
	}
	if a.status != http.StatusOK {
		c.r.problem("client %d %s: %d %q (session lost)", c.id, op, a.status, a.state.Error)
		c.in = false
		return false
	}
	if a.state.Counter != c.counter || a.state.User != c.user {
		c.r.problem("client %d %s: counter %d for %q, want %d for %q (update lost or doubled)", c.id, op, a.state.Counter, a.state.User, c.counter, c.user)
		c.in = false
		return false
	}
	return true
}

func (r *run) stopped() bool {
	return r.ctx.Err() != nil
}

// loop runs the client until ctx ends, reporting each step to r.prog.
func (c *client) loop(ctx context.Context) {
	for step := 0; !c.r.stopping.Load() && ctx.Err() == nil; step++ {
		c.r.gate.RLock()
		switch {
		case !c.in:
			c.login(ctx)
		case step%10 == 9:
			c.logout(ctx)
		case step%10 == 8 && c.r.logoutAll:
			c.logoutEverywhere(ctx)
		case step%2 == 0:
			c.counter++
			a, err := c.do(ctx, "POST", "/incr", nil)
			c.expect("incr", a, err)
		default:
			a, err := c.do(ctx, "GET", "/counter", nil)
			c.expect("read", a, err)
		}
		c.r.gate.RUnlock()
		c.r.prog.done(c.id)
	}
}

func (c *client) login(ctx context.Context) {
	c.counter = 0
	a, err := c.do(ctx, "POST", "/login", url.Values{"user": {c.user}})
	c.in = c.expect("login", a, err)
}

// logout ends the session, then replays the cookie it ended at every
// instance straight away: each must refuse it as revoked.
func (c *client) logout(ctx context.Context) {
	old := c.cookie()
	a, err := c.do(ctx, "POST", "/logout", nil)
	c.in = false
	if err != nil && c.r.stopped() {
		return
	}
	if err != nil || a.status != http.StatusOK {
		c.r.problem("client %d logout: %d %v", c.id, a.status, err)
		return
	}
	if got := c.cookie(); got != "" {
		c.r.problem("client %d: the jar still holds a session cookie after logout", c.id)
	}
	c.r.replay(ctx, c.id, old, replayNext)
}

// logoutEverywhere logs a second device in as the same user, then logs
// out everywhere from the first: the second must be refused on its next
// request and at every instance; the first continues.
func (c *client) logoutEverywhere(ctx context.Context) {
	other := c.r.newClient(c.id, c.user)
	other.login(ctx)
	if !other.in {
		return
	}
	otherCookie := other.cookie()
	a, err := c.do(ctx, "POST", "/logout-all", nil)
	if err == nil && a.status == http.StatusUnauthorized && a.state.Error == "revoked" && a.retried {
		// The instance died after it cut the user's sessions off but
		// before it answered, and the retry arrived with a session
		// already cut off: the user is logged out here too, and, the
		// cut-off coming first, everywhere else (checked below).
		c.r.mu.Lock()
		c.r.retriedOut++
		c.r.mu.Unlock()
		c.in = false
	} else if !c.expect("logout-all", a, err) {
		return
	}
	b, err := other.do(ctx, "GET", "/counter", nil)
	if err != nil && c.r.stopped() {
		return
	}
	if err != nil || b.status != http.StatusUnauthorized || b.state.Error != "revoked" {
		c.r.problem("client %d: second device after logout everywhere: %d %q %v, want 401 revoked", c.id, b.status, b.state.Error, err)
	}
	c.r.replay(ctx, c.id, otherCookie, replayNext)
}

// replayMode says what a replay of a logged-out cookie must find.
type replayMode int

const (
	// replayNext is the replay right after the logout: every instance
	// that answers refuses it as revoked; one that does not answer
	// (killed by the test) is skipped, and the final sweep covers it.
	replayNext replayMode = iota
	// replayStrict: every instance answers, and refuses it as revoked.
	replayStrict
	// replayFinal is the sweep at the end: every instance answers and
	// refuses it, as revoked, or for a reason found before revocation is
	// checked: sealed by a key retired since, or expired where the run
	// allows it.
	replayFinal
)

// replay sends a logged-out cookie to every instance, straight, and checks
// each refuses it, as mode says. replayNext also records the cookie.
func (r *run) replay(ctx context.Context, client int, cookie string, mode replayMode) {
	if mode == replayNext {
		r.mu.Lock()
		r.revoked = append(r.revoked, cookie)
		r.mu.Unlock()
	}
	for _, m := range r.f.instances {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+m.addr+"/counter", nil)
		req.Header.Set("Cookie", cookie)
		start := time.Now()
		resp, err := r.direct.RoundTrip(req)
		if err != nil {
			if mode == replayNext {
				r.skipped.Add(1) // the instance is down or dying: killed by the test
				continue
			}
			r.problem("replay at %s: %v", m.name, err)
			continue
		}
		var st state
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		r.replays.add(resp.StatusCode, time.Since(start))
		ok := resp.StatusCode == http.StatusUnauthorized && (st.Error == "revoked" ||
			mode == replayFinal && (st.Error == "invalid: unknown key" || r.acceptExpired && st.Error == "expired"))
		if !ok {
			r.problem("client %d: a logged-out cookie replayed at %s: %d %q, want 401 revoked", client, m.name, resp.StatusCode, st.Error)
		}
	}
}

// revokedCount is how many logged-out cookies the clients have recorded.
func (r *run) revokedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.revoked)
}

// revokedSince returns the logged-out cookies recorded from the i-th on.
func (r *run) revokedSince(i int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.revoked[i:])
}

// replayAll replays cookies as replay does, eight at a time.
func (r *run) replayAll(cookies []string, mode replayMode) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c := range work {
				r.replay(r.t.Context(), -1, c, mode)
			}
		})
	}
	for _, c := range cookies {
		work <- c
	}
	close(work)
	wg.Wait()
}
