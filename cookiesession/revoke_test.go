package cookiesession_test

// Tests of revoke.go and of revocation through a session: the deny time
// given to a Revoker, Flush and CycleKey with a Revoker, per-subject
// cut-offs, a Revoker that fails, and hooks that run with no lock held.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

// TestRevokeOutlivesRenewedCopies replays the attack the deny list must
// stop: a stolen copy of a session is renewed (saved again, same ID, a
// later deadline) before the owner logs out. The deny entry must outlive
// every copy, so that pruning the deny list on schedule never lets the
// stolen copy back in.
//
// With Lifetime 30m and RenewAfter 10m: log in at 00:00; the thief's copy
// is renewed at 00:12 (deadline 00:42); the owner logs out at 00:13. From
// then on, with Prune run before every request, the stolen copy must be
// rejected at every minute until it is dead everywhere.
func TestRevokeOutlivesRenewedCopies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  cookiesession.Config
		// expiry, if set, is the session's own rule, set at login.
		expiry cookiesession.Expiry
	}{
		{name: "Lifetime and RenewAfter", cfg: cookiesession.Config{Lifetime: 30 * time.Minute, RenewAfter: 10 * time.Minute}},
		{name: "with ClockSkew", cfg: cookiesession.Config{Lifetime: 30 * time.Minute, RenewAfter: 10 * time.Minute, ClockSkew: 90 * time.Second}},
		{name: "renewal on every request", cfg: cookiesession.Config{Lifetime: 30 * time.Minute, RenewAfter: time.Nanosecond}},
		{name: "IdleFor longer than Lifetime", cfg: cookiesession.Config{Lifetime: 30 * time.Minute, RenewAfter: 10 * time.Minute},
			expiry: cookiesession.IdleFor(2 * time.Hour)},
		{name: "ExpiresIn", cfg: cookiesession.Config{Lifetime: 30 * time.Minute},
			expiry: cookiesession.ExpiresIn(3 * time.Hour)},
		{name: "AbsoluteLifetime caps the bound", cfg: cookiesession.Config{Lifetime: 30 * time.Minute, RenewAfter: 10 * time.Minute, AbsoluteLifetime: 20 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deny := new(cookiesession.DenyList)
			cfg := tt.cfg
			cfg.Revoker = deny
			h := newManager(t, cfg)

			// 00:00: log in.
			s := h.load()
			if err := s.Set("user", "ann"); err != nil {
				t.Fatal(err)
			}
			if tt.expiry != (cookiesession.Expiry{}) {
				s.SetExpiry(tt.expiry)
			}
			owner := h.save(s)
			stolen := owner

			// 00:12: the thief's copy is used, and renewed (or, with no
			// renewal, changed) by the response.
			h.clock.Set(t0.Add(12 * time.Minute))
			s = h.load(stolen)
			if err := s.Set("seen", true); err != nil {
				t.Fatal(err)
			}
			if c := onlyCookie(t, h.commit(s, http.StatusOK)); c.Value != "" {
				stolen = c.Value
			}
			stolenDeadline := h.load(stolen).Info().Expires
			h.wantErrors()

			// 00:13: the owner logs out.
			h.clock.Set(t0.Add(13 * time.Minute))
			s = h.load(owner)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			h.commit(s, http.StatusOK)

			// From 00:14 until the stolen copy is dead everywhere (its
			// deadline plus the skew), Prune, then replay it: it never
			// opens, so it is never renewed either.
			end := stolenDeadline.Add(cfg.ClockSkew)
			for at := h.now().Add(time.Minute); !at.After(end.Add(time.Minute)); at = at.Add(time.Minute) {
				h.clock.Set(at)
				deny.Prune(at)
				s := h.load(stolen)
				if s.Has("user") {
					t.Fatalf("at +%v (stolen copy valid until %v): the revoked session opened after Prune",
						at.Sub(t0), stolenDeadline.Sub(t0))
				}
				if c := h.commit(s, http.StatusOK); c.Get("Set-Cookie") != "" {
					if sc := onlyCookie(t, c); sc.Value != "" {
						t.Fatalf("at +%v: the revoked session was renewed", at.Sub(t0))
					}
				}
				h.errs.take()
			}
		})
	}
}

// TestRevokeUntil checks the time the Revoker is given: the revocation
// time plus the longest window any copy may have (Lifetime, or the
// session's own longer rule) plus twice ClockSkew, capped by the issue
// time plus AbsoluteLifetime plus twice ClockSkew. It is finite, and never
// earlier than the deadline of any copy, renewed ones included.
func TestRevokeUntil(t *testing.T) {
	t.Parallel()
	const skew = 7 * time.Second
	tests := []struct {
		name   string
		cfg    cookiesession.Config
		expiry cookiesession.Expiry
		want   time.Duration // after the revocation at t0+10m; issued at t0
	}{
		{"Lifetime", cookiesession.Config{Lifetime: time.Hour}, cookiesession.Expiry{}, time.Hour},
		{"Lifetime and skew", cookiesession.Config{Lifetime: time.Hour, ClockSkew: skew}, cookiesession.Expiry{}, time.Hour + 2*skew},
		{"BrowserClose", cookiesession.Config{Lifetime: time.Hour}, cookiesession.BrowserClose, time.Hour},
		{"shorter IdleFor", cookiesession.Config{Lifetime: time.Hour}, cookiesession.IdleFor(20 * time.Minute), time.Hour},
		{"longer IdleFor", cookiesession.Config{Lifetime: time.Hour}, cookiesession.IdleFor(5 * time.Hour), 5 * time.Hour},
		{"later ExpiresAt", cookiesession.Config{Lifetime: time.Hour}, cookiesession.ExpiresAt(t0.Add(10*time.Hour + 10*time.Minute)), 10 * time.Hour},
		{"earlier ExpiresAt", cookiesession.Config{Lifetime: time.Hour}, cookiesession.ExpiresAt(t0.Add(20 * time.Minute)), time.Hour},
		{"AbsoluteLifetime", cookiesession.Config{Lifetime: time.Hour, AbsoluteLifetime: 30 * time.Minute, ClockSkew: skew}, cookiesession.Expiry{}, 20*time.Minute + 2*skew},
		{"AbsoluteLifetime longer", cookiesession.Config{Lifetime: time.Hour, AbsoluteLifetime: 8 * time.Hour}, cookiesession.Expiry{}, time.Hour},
		{"huge ClockSkew saturates", cookiesession.Config{Lifetime: math.MaxInt64, ClockSkew: math.MaxInt64 / 2}, cookiesession.Expiry{}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rev := &recordingRevoker{}
			cfg := tt.cfg
			cfg.Revoker = rev
			h := newManager(t, cfg)
			s := h.load()
			_ = s.Set("n", 1)
			if tt.expiry != (cookiesession.Expiry{}) {
				s.SetExpiry(tt.expiry)
			}
			v := h.save(s)
			h.clock.Advance(10 * time.Minute)
			for _, end := range []func(*cookiesession.Session) error{(*cookiesession.Session).Flush, (*cookiesession.Session).CycleKey} {
				s := h.load(v)
				if err := end(s); err != nil {
					t.Fatal(err)
				}
			}
			want := h.now().Add(tt.want)
			if tt.want < 0 {
				want = time.Unix(0, math.MaxInt64) // saturated, never wrapped into the past
			}
			if len(rev.until) != 2 || !rev.until[0].Equal(want) || !rev.until[1].Equal(want) {
				t.Errorf("Revoke until %v, want %v after the revocation, for Flush and CycleKey", rev.until, tt.want)
			}
		})
	}
}

// TestRevokeUntilUsesTheLoadedRule: changing the session's rule before
// ending it (Clear, SetExpiry) cannot shorten the denial: copies of the
// cookie carry the rule it came with.
func TestRevokeUntilUsesTheLoadedRule(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		before func(*cookiesession.Session)
	}{
		{"Clear", (*cookiesession.Session).Clear},
		{"SetExpiry(DefaultExpiry)", func(s *cookiesession.Session) { s.SetExpiry(cookiesession.DefaultExpiry) }},
		{"SetExpiry(IdleFor(1m))", func(s *cookiesession.Session) { s.SetExpiry(cookiesession.IdleFor(time.Minute)) }},
		{"SetExpiry(ExpiresAt(zero time))", func(s *cookiesession.Session) { s.SetExpiry(cookiesession.ExpiresAt(time.Time{})) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rev := &recordingRevoker{}
			h := newManager(t, cookiesession.Config{Lifetime: 30 * time.Minute, Revoker: rev})
			s := h.load()
			_ = s.Set("n", 1)
			s.SetExpiry(cookiesession.IdleFor(24 * time.Hour))
			v := h.save(s)
			h.clock.Advance(time.Minute)
			s = h.load(v)
			tt.before(s)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if want := h.now().Add(24 * time.Hour); len(rev.until) != 1 || !rev.until[0].Equal(want) {
				t.Errorf("Revoke until %v, want %v: the rule the cookie came with", rev.until, want)
			}
		})
	}
}

// failingRevoker's Check fails as a store that is down does: not a
// revocation.
type failingRevoker struct {
	mu   sync.Mutex
	fail bool
	deny cookiesession.DenyList
}

var errStoreDown = errors.New("revocation store: connection refused")

func (r *failingRevoker) setFailing(f bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *failingRevoker) Check(ctx context.Context, info cookiesession.Info) error {
	r.mu.Lock()
	fail := r.fail
	r.mu.Unlock()
	if fail {
		return errStoreDown
	}
	return r.deny.Check(ctx, info)
}

func (r *failingRevoker) Revoke(ctx context.Context, info cookiesession.Info, until time.Time) error {
	return r.deny.Revoke(ctx, info, until)
}

// TestRevokerFailure: a Revoker that cannot check (its store is down) is
// not a revocation. The session is not used for the request (crumb fails
// closed), but the cookie is kept, not deleted: when the store is back,
// the user is still logged in.
func TestRevokerFailure(t *testing.T) {
	t.Parallel()
	rev := &failingRevoker{}
	h := newManager(t, cookiesession.Config{Revoker: rev})
	v := h.seed(map[string]any{"user": "ann"})

	rev.setFailing(true)
	s := h.load(v)
	if s.Has("user") {
		t.Error("a session that could not be checked was used")
	}
	if errs := h.errs.take(); len(errs) != 1 || !errors.Is(errs[0], errStoreDown) || errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("reported %v, want the store's error, not ErrRevoked", errs)
	}
	noCookie(t, h.commit(s, http.StatusOK))

	// Opened while the store was up, re-checked at commit while down: not
	// written back, not deleted.
	rev.setFailing(false)
	s = h.load(v)
	_ = s.Set("cart", 1)
	rev.setFailing(true)
	hdr, err := commitHeader(h.m, s, http.StatusOK)
	if !errors.Is(err, errStoreDown) || errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("Commit = %v, want the store's error", err)
	}
	noCookie(t, hdr)

	// CycleKey that cannot check starts a fresh session (no fixation).
	rev.setFailing(false)
	s = h.load(v)
	_ = s.Len()
	rev.setFailing(true)
	if err := s.CycleKey(); !errors.Is(err, errStoreDown) {
		t.Errorf("CycleKey = %v, want the store's error", err)
	}
	wantEmpty(t, s)

	rev.setFailing(false)
	wantString(t, h.load(v), "user", "ann") // still logged in
	h.errs.take()
}

// TestCommitSealsWhatItChecked: a change made while Commit waits for the
// Revoker (another goroutine of the request clears the session) is late;
// the cookie carries the session as it was when Commit began, with its ID,
// not an emptied session.
func TestCommitSealsWhatItChecked(t *testing.T) {
	t.Parallel()
	rev := &reentrantRevoker{}
	h := newManager(t, cookiesession.Config{Revoker: rev})
	v := h.seed(map[string]any{"user": "ann"})
	s := h.load(v)
	id := s.ID()
	_ = s.Set("cart", 1)
	rev.onCheck = func() { s.Clear() }
	c := onlyCookie(t, h.commit(s, http.StatusOK))
	got := h.load(c.Value)
	if got.ID() != id || !got.Has("user") || !got.Has("cart") {
		t.Errorf("sealed ID %q keys %q; want the session as committed, ID %q", got.ID(), got.Keys(), id)
	}
}

// TestCycleKeyRechecks: a request that opened a session, then cycles its
// key (a login), must not carry the session into a new ID if a concurrent
// request revoked it meanwhile (a logout in another tab): no deny list
// holds the new ID.
func TestCycleKeyRechecks(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	h := newManager(t, cookiesession.Config{Revoker: deny})
	v := h.seed(map[string]any{"cart": "apples"})

	slow := h.load(v)
	wantString(t, slow, "cart", "apples") // opened while still valid
	idle := h.load(v)
	wantString(t, idle, "cart", "apples")
	oldID := slow.ID()

	logout := h.load(v)
	if err := logout.Flush(); err != nil {
		t.Fatal(err)
	}
	h.commit(logout, http.StatusOK)

	for _, s := range []*cookiesession.Session{slow, idle} {
		if err := s.CycleKey(); !errors.Is(err, cookiesession.ErrRevoked) {
			t.Fatalf("CycleKey of a session revoked meanwhile = %v, want ErrRevoked", err)
		}
		wantEmpty(t, s)
	}
	// With nothing more, the response deletes the revoked cookie.
	h.wantDeletion(onlyCookie(t, h.commit(idle, http.StatusOK)))

	// A login that goes on stores into a fresh session, with a new ID.
	_ = slow.Set("user", "ann")
	fresh := h.save(slow)
	if s := h.load(fresh); !s.Has("user") || s.Has("cart") || s.ID() == "" || s.ID() == oldID {
		t.Errorf("after the failed cycle: keys %q, ID %q; want a fresh session with user only", s.Keys(), s.ID())
	}
	h.wantErrors()
}

// TestRevokeSubjectSubSecond: "log out everywhere else" is
// RevokeSubject(subject, now), then CycleKey on this device's session. The
// session cycled a few hundred milliseconds after the cut-off stays valid:
// issue times are not rounded to seconds. Every session issued before the
// cut-off, this device's old cookie included, is rejected.
func TestRevokeSubjectSubSecond(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	h := newManager(t, cookiesession.Config{Revoker: deny})
	login := func(at time.Duration) string {
		h.clock.Set(t0.Add(at))
		s := h.load()
		_ = s.SetSubject("ann")
		return h.save(s)
	}
	other := login(400 * time.Millisecond) // another device
	here := login(700 * time.Millisecond)  // this device

	// At 1.100 this device asks to log out everywhere else; the request
	// cycles its session 300ms later.
	h.clock.Set(t0.Add(1100 * time.Millisecond))
	s := h.load(here)
	if s.Subject() != "ann" {
		t.Fatal("this device's session did not open")
	}
	cut := h.now()
	deny.RevokeSubject("ann", cut)
	h.clock.Advance(300 * time.Millisecond)
	if err := s.CycleKey(); err != nil {
		t.Fatalf("CycleKey after the cut-off = %v", err)
	}
	kept := h.save(s)

	h.clock.Advance(time.Minute)
	if got := h.load(kept); got.Subject() != "ann" {
		t.Errorf("the session cycled 300ms after the cut-off was rejected")
	}
	h.wantErrors()
	for name, v := range map[string]string{"the other device": other, "this device's old cookie": here} {
		if got := h.load(v); got.Subject() != "" {
			t.Errorf("%s survived the cut-off", name)
		}
		h.wantErrors(cookiesession.ErrRevoked)
	}

	// Exactly at the cut-off is not before it; a nanosecond before is.
	at := login(cut.Sub(t0))
	before := login(cut.Sub(t0) - time.Nanosecond)
	h.clock.Set(cut.Add(time.Minute))
	if got := h.load(at); got.Subject() != "ann" {
		t.Error("a session issued at the cut-off was rejected")
	}
	h.wantErrors()
	if got := h.load(before); got.Subject() != "" {
		t.Error("a session issued a nanosecond before the cut-off was accepted")
	}
	h.wantErrors(cookiesession.ErrRevoked)
}

// reentrantRevoker uses the session of the request from inside its
// methods, as an application's hook may (to log its keys, say).
type reentrantRevoker struct {
	mu      sync.Mutex
	s       *cookiesession.Session
	calls   int
	deny    cookiesession.DenyList
	onCheck func() // if set, run by Check
}

func (r *reentrantRevoker) touch() {
	r.mu.Lock()
	s := r.s
	r.calls++
	r.mu.Unlock()
	if s != nil {
		_ = s.Len()
		_ = s.IsEmpty()
	}
}

func (r *reentrantRevoker) Check(ctx context.Context, info cookiesession.Info) error {
	r.touch()
	if r.onCheck != nil {
		r.onCheck()
	}
	return r.deny.Check(ctx, info)
}

func (r *reentrantRevoker) Revoke(ctx context.Context, info cookiesession.Info, until time.Time) error {
	r.touch()
	return r.deny.Revoke(ctx, info, until)
}

// TestHooksRunUnlocked: the Revoker and the Logger are the application's
// code; they run with no lock of crumb's held, so they may
// use the session. Each step runs under a deadline, which a hook called
// under the session's lock would miss by deadlocking.
func TestHooksRunUnlocked(t *testing.T) {
	t.Parallel()
	rev := &reentrantRevoker{}
	var target struct {
		sync.Mutex
		s *cookiesession.Session
	}
	useSession := func() {
		target.Lock()
		s := target.s
		target.Unlock()
		if s != nil {
			_ = s.Len()
			_, _, _ = cookiesession.Get[int](s, "n")
		}
	}
	logged := &callbackHandler{f: useSession}
	clock := newFakeClock()
	m, err := cookiesession.New(cookiesession.Config{
		Keys:    newRing(t, newKey(t)),
		Clock:   clock.Now,
		Revoker: rev,
		Logger:  slogWith(logged),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, m: m, clock: clock, errs: &errorLog{}}
	v := h.seed(map[string]any{"n": 1})

	within := func(name string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			defer close(done)
			f()
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: deadlocked: a hook ran under the session's lock", name)
		}
	}
	bind := func(s *cookiesession.Session) {
		rev.mu.Lock()
		rev.s = s
		rev.mu.Unlock()
		target.Lock()
		target.s = s
		target.Unlock()
	}

	within("the Logger on a rejected cookie", func() {
		s := m.Load(context.Background(), h.header("junk"))
		bind(s)
		_ = s.Len()
	})
	within("Revoker.Check before a save", func() {
		s := m.Load(context.Background(), h.header(v))
		_ = s.Set("n", 2) // opens: Check runs, before bind, on the loading session
		bind(s)
		if _, err := commitHeader(m, s, http.StatusOK); err != nil {
			t.Error(err)
		}
	})
	within("Revoker.Check and Revoke in CycleKey", func() {
		s := m.Load(context.Background(), h.header(v))
		_ = s.Len()
		bind(s)
		if err := s.CycleKey(); err != nil {
			t.Error(err)
		}
	})
	within("Revoker.Revoke in Flush, and the Logger on a failed save", func() {
		s := m.Load(context.Background(), h.header(h.seed(map[string]any{"n": 3})))
		_ = s.Len()
		bind(s)
		if err := s.Flush(); err != nil {
			t.Error(err)
		}
		_ = s.Set("big", randomText(5000))
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			bind(s)
			_ = s.Set("big", randomText(5000))
		})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	})
	if rev.calls < 4 || logged.count() < 2 {
		t.Errorf("hooks ran %d (Revoker) and %d (Logger) times; the test did not exercise them", rev.calls, logged.count())
	}
}

// CycleInvalidates, derived from Django's behaviour: CycleKey gives a new cookie and ID with
// the same data; with revocation the old cookie gives an empty session
// (without, it stays valid, as in Django).
func TestCycleInvalidates(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		cfg := cookiesession.Config{}
		if revoke {
			cfg.Revoker = &cookiesession.DenyList{}
		}
		h := newManager(t, cfg)
		client, url := h.client(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			switch r.URL.Path {
			case "/login":
				if err := s.Set("user", "alice"); err != nil {
					t.Error(err)
				}
			case "/cycle":
				if err := s.CycleKey(); err != nil {
					t.Error(err)
				}
			}
		})
		old := onlyCookie(t, get(t, client, url+"/login").Header).Value
		oldID := h.load(old).ID()
		cycled := onlyCookie(t, get(t, client, url+"/cycle").Header).Value
		s := h.load(cycled)
		if cycled == old || s.ID() == oldID || s.ID() == "" {
			t.Errorf("revoker %v: after CycleKey ID = %q, want a new one (old %q)", revoke, s.ID(), oldID)
		}
		wantString(t, s, "user", "alice")

		replay := h.load(old)
		if revoke {
			wantEmpty(t, replay)
			h.wantErrors(cookiesession.ErrRevoked)
		} else {
			wantString(t, replay, "user", "alice")
			h.wantErrors()
		}
	}
}

// FlushInvalidates, derived from Django's behaviour: Flush deletes the cookie; with revocation
// a replay of the old cookie gives an empty session, and without one the
// replay works until the cookie's deadline, as documented.
func TestFlushInvalidates(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		cfg := cookiesession.Config{}
		if revoke {
			cfg.Revoker = &cookiesession.DenyList{}
		}
		h := newManager(t, cfg)
		old := h.seed(map[string]any{"user": "alice"})
		s := h.load(old)
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		h.wantDeletion(onlyCookie(t, h.commit(s, http.StatusOK)))

		replay := h.load(old)
		if revoke {
			wantEmpty(t, replay)
			h.wantErrors(cookiesession.ErrRevoked)
			continue
		}
		wantString(t, replay, "user", "alice")
		h.clock.Advance(sca - time.Nanosecond)
		wantString(t, h.load(old), "user", "alice")
		h.clock.Advance(time.Nanosecond)
		wantEmpty(t, h.load(old))
		h.wantErrors(cookiesession.ErrExpired)
	}
}

func (r *recordingRevoker) Check(_ context.Context, info cookiesession.Info) error {
	r.checks = append(r.checks, info)
	return nil
}

func (r *recordingRevoker) Revoke(_ context.Context, info cookiesession.Info, until time.Time) error {
	r.revoked = append(r.revoked, info)
	r.until = append(r.until, until)
	return nil
}

// Django test_session_save_does_not_resurrect_session_logged_out_in_other_context
// and test_session_update_error_redirect: a session revoked by a
// concurrent request is not written back, and the error is reported.
func TestNoResurrection(t *testing.T) {
	t.Parallel()
	t.Run("Commit", func(t *testing.T) {
		h := newManager(t, cookiesession.Config{Revoker: &cookiesession.DenyList{}})
		cookie := h.seed(map[string]any{"user": "alice"})
		busy, logout := h.load(cookie), h.load(cookie)
		if err := busy.Set("cart", 3); err != nil {
			t.Fatal(err)
		}
		if err := logout.Flush(); err != nil {
			t.Fatal(err)
		}
		h.commit(logout, http.StatusOK)

		hdr, err := commitHeader(h.m, busy, http.StatusOK)
		if !errors.Is(err, cookiesession.ErrRevoked) {
			t.Errorf("Commit of a session revoked meanwhile: error = %v, want ErrRevoked", err)
		}
		for _, c := range setCookies(t, hdr) {
			if c.Value != "" {
				t.Errorf("Commit set cookie %q, want no session cookie", c.String())
			}
		}
	})
	t.Run("Handler", func(t *testing.T) {
		h := newManager(t, cookiesession.Config{Revoker: &cookiesession.DenyList{}})
		cookie := h.seed(map[string]any{"user": "alice"})
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			wantString(t, s, "user", "alice")
			// A logout in another tab, while this request runs.
			other := h.load(cookie)
			if err := other.Flush(); err != nil {
				t.Error(err)
			}
			if err := s.Set("cart", 3); err != nil {
				t.Error(err)
			}
		}, cookie)
		for _, c := range setCookies(t, resp.Header) {
			if c.Value != "" {
				t.Errorf("response set cookie %q, want no session cookie", c.String())
			}
		}
		h.wantErrors(cookiesession.ErrRevoked)
	})
}

func TestRevokeDenyListFlush(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	s := e.load(v)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if c := e.commitOne(s); c == nil || c.Value != "" {
		t.Fatalf("Flush: commit = %v, want the deletion cookie", c)
	}
	replay := e.load(v)
	if replay.Len() != 0 {
		t.Errorf("replayed cookie after Flush opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("replay after Flush reported %v, want ErrRevoked", errs)
	}
}

func TestRevokeDenyListCycleKey(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	s := e.load(v)
	oldID := s.ID()
	e.clock.Advance(time.Minute)
	if err := s.CycleKey(); err != nil {
		t.Fatal(err)
	}
	newID := s.ID()
	if newID == oldID || newID == "" {
		t.Fatalf("CycleKey: ID %q -> %q", oldID, newID)
	}
	v2 := e.commitOne(s).Value

	if replay := e.load(v); replay.Len() != 0 {
		t.Errorf("the pre-CycleKey cookie still opens")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("replay after CycleKey reported %v, want ErrRevoked", errs)
	}
	cur := e.load(v2)
	if n, ok := getInt(t, cur, "n"); !ok || n != 1 || cur.ID() != newID {
		t.Errorf("cycled session: n = %d, %v, ID %q; want 1 under %q", n, ok, cur.ID(), newID)
	}
	if got := cur.Info().IssuedAt; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("cycled IssuedAt = %v, want the CycleKey time", got)
	}
}

func TestRevokeDenyListSubject(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	login := func(subject string) string {
		return e.saveWith(func(s *cookiesession.Session) {
			if err := s.SetSubject(subject); err != nil {
				t.Fatal(err)
			}
		})
	}
	alice := login("alice")
	bob := login("bob")
	e.clock.Advance(10 * time.Second)
	deny.RevokeSubject("alice", e.clock.Now())
	aliceAfter := login("alice")
	e.clock.Advance(time.Second)

	if s := e.load(alice); s.Subject() != "" {
		t.Errorf("alice's session from before the cut-off opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrRevoked) {
		t.Errorf("reported %v, want ErrRevoked", errs)
	}
	if s := e.load(aliceAfter); s.Subject() != "alice" {
		t.Errorf("alice's session issued at the cut-off was rejected")
	}
	if s := e.load(bob); s.Subject() != "bob" {
		t.Errorf("bob's session was rejected by alice's cut-off")
	}
}

// TestRevokeDuringRequest: a logout in another tab while a request runs
// must not be undone by that request's save.
func TestRevokeDuringRequest(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) { c.Revoker = deny })
	v := e.saveWith(setter(t, "n", 1))

	slow := e.load(v)
	if err := slow.Set("n", 2); err != nil { // opens the cookie while still valid
		t.Fatal(err)
	}
	logout := e.load(v)
	_ = logout.Flush()
	e.commitOne(logout)

	h, err := commitHeader(e.m, slow, http.StatusOK)
	if !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("Commit of a session revoked meanwhile = %v, want ErrRevoked", err)
	}
	cookies := checkSetCookies(t, e.m, h)
	if len(cookies) != 1 || cookies[0].Value != "" || cookies[0].MaxAge != -1 {
		t.Errorf("Commit of a revoked session sent %q, want only the deletion cookie", h.Values("Set-Cookie"))
	}
}

func TestRevokeDenyListPrune(t *testing.T) {
	t.Parallel()
	var deny cookiesession.DenyList
	ctx := context.Background()
	info := cookiesession.Info{ID: "abc", IssuedAt: t0, SavedAt: t0, Expires: t0.Add(time.Hour)}
	if err := deny.Check(ctx, info); err != nil {
		t.Fatalf("Check before Revoke = %v", err)
	}
	until := info.Expires.Add(time.Minute)
	if err := deny.Revoke(ctx, info, until); err != nil {
		t.Fatal(err)
	}
	if err := deny.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Fatalf("Check after Revoke = %v, want ErrDenied", err)
	}
	deny.Prune(until) // still denied at its time
	if err := deny.Check(ctx, info); !errors.Is(err, cookiesession.ErrRevoked) {
		t.Errorf("Prune at the time given to Revoke forgot the ID")
	}
	deny.Prune(until.Add(time.Nanosecond))
	if err := deny.Check(ctx, info); err != nil {
		t.Errorf("Prune after the deadline kept the ID: %v", err)
	}
	// A subject cut-off never matches sessions without a subject.
	deny.RevokeSubject("", t0.Add(time.Hour))
	if err := deny.Check(ctx, info); err != nil {
		t.Errorf("an empty-subject cut-off rejected a session without subject: %v", err)
	}
}
