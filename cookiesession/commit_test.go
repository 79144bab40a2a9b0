package cookiesession_test

// Tests of commit.go: what a response says about its session (Django's
// response rules, made stricter), the cookie's attributes, size limits,
// and Commit with and without Handler. Cases ported from Django name the
// Django test they come from.

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestCommitKeepsCookiesValidElsewhere: a response deletes only a cookie
// that is dead everywhere (tampered, malformed, expired, revoked). A
// cookie sealed by a key this instance lacks, or saved ahead of this
// instance's clock, may be valid on another instance (mid-rotation, or
// after a restart with a throwaway key): deleting it would log the user
// out for good. It is left alone unless the response saves a new session
// or the handler ends it with Flush.
func TestCommitKeepsCookiesValidElsewhere(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	clock := newFakeClock()
	here := newManager(t, cookiesession.Config{Keys: newRing(t, newKey(t)), Clock: clock.Now})
	elsewhere := newManager(t, cookiesession.Config{Keys: ring, Clock: clock.Now})
	ahead := newFakeClock()
	ahead.Set(t0.Add(time.Hour))
	aheadM := newManager(t, cookiesession.Config{Keys: here.cfg.Keys, Clock: ahead.Now})

	unknownKey := elsewhere.seed(map[string]any{"user": "ann"})
	future := aheadM.seed(map[string]any{"user": "ann"})
	for name, v := range map[string]string{"unknown key": unknownKey, "saved in the future": future} {
		t.Run(name, func(t *testing.T) {
			views := []struct {
				name string
				do   func(*cookiesession.Session)
				want string // "keep", "delete" or "replace"
			}{
				{"untouched", func(*cookiesession.Session) {}, "keep"},
				{"read", func(s *cookiesession.Session) { _ = s.Len() }, "keep"},
				{"new data", func(s *cookiesession.Session) { _ = s.Set("cart", 1) }, "replace"},
				{"Flush", func(s *cookiesession.Session) { _ = s.Flush() }, "delete"},
			}
			for _, view := range views {
				s := here.load(v)
				view.do(s)
				hdr := here.commit(s, http.StatusOK)
				here.errs.take()
				switch view.want {
				case "keep":
					noCookie(t, hdr)
				case "delete":
					here.wantDeletion(onlyCookie(t, hdr))
				case "replace":
					if c := onlyCookie(t, hdr); c.Value == "" {
						t.Errorf("%s: Set-Cookie %q, want a new session", view.name, c)
					}
				}
			}
		})
	}

	// Dead everywhere: deleted as soon as the session is looked at.
	dead := map[string]string{
		"tampered":  tamper(t, here.seed(map[string]any{"user": "ann"})),
		"malformed": "AQGtaB5Mjunk",
	}
	expiring := here.load()
	_ = expiring.Set("user", "ann")
	expiring.SetExpiry(cookiesession.IdleFor(time.Minute))
	expired := here.save(expiring)
	for name, v := range dead {
		s := here.load(v)
		_ = s.Len()
		here.wantDeletion(onlyCookie(t, here.commit(s, http.StatusOK)))
		if got := here.errs.take(); len(got) != 1 {
			t.Errorf("%s: reported %v", name, got)
		}
	}
	clock.Advance(time.Minute)
	s := here.load(expired)
	_ = s.Len()
	here.wantDeletion(onlyCookie(t, here.commit(s, http.StatusOK)))
	here.wantErrors(cookiesession.ErrExpired)

	// A rotation that reaches this instance later: the cookie it kept
	// opens once the key arrives.
	both := newManager(t, cookiesession.Config{Keys: rotation.NewHolder(newRing(t, newKey(t), ring.Primary())), Clock: clock.Now})
	if got := both.load(unknownKey); !got.Has("user") {
		t.Error("the kept cookie does not open on an instance holding its key")
	}
}

// TestCommitAcrossSkewedClocks: a session issued by an instance whose
// clock is ahead (within ClockSkew) and changed on one whose clock is
// behind is saved no earlier than it was issued, so that every instance
// opens it (issued <= saved, as docs/FORMAT.md requires).
func TestCommitAcrossSkewedClocks(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	ahead, onTime := newFakeClock(), newFakeClock()
	ahead.Advance(time.Second)
	a := newManager(t, cookiesession.Config{Keys: ring, Clock: ahead.Now, ClockSkew: 2 * time.Second})
	b := newManager(t, cookiesession.Config{Keys: ring, Clock: onTime.Now, ClockSkew: 2 * time.Second})
	v := a.seed(map[string]any{"user": "ann"}) // log in on A
	s := b.load(v)                             // the next request reaches B
	_ = s.Set("cart", 1)
	v = b.save(s)
	for name, m := range map[string]*harness{"A": a, "B": b} {
		got := m.load(v)
		if !got.Has("cart") {
			t.Errorf("instance %s does not open the cookie B saved", name)
		}
		if i := got.Info(); i.SavedAt.Before(i.IssuedAt) {
			t.Errorf("saved %v before issued %v", i.SavedAt, i.IssuedAt)
		}
	}
	a.wantErrors()
	b.wantErrors()
}

func TestCommit5xxThroughHandler(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	for _, status := range []int{500, 502, 503} {
		resp := e.serveWith(v, func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("n", 2)
			w.WriteHeader(status)
		})
		if _, ok := responseCookie(e.m, resp); ok {
			t.Errorf("%d: a changed session was saved", status)
		}
		// Logout still applies on an error page.
		resp = e.serveWith(v, func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Flush()
			http.Error(w, "oops", status)
		})
		if got, ok := responseCookie(e.m, resp); !ok || got != "" {
			t.Errorf("%d after Flush: cookie %q, %v; want the deletion", status, got, ok)
		}
	}
	// A 4xx saves as usual.
	resp := e.serveWith(v, func(w http.ResponseWriter, r *http.Request) {
		_ = sessionOf(t, r).Set("n", 3)
		w.WriteHeader(http.StatusNotFound)
	})
	if _, ok := responseCookie(e.m, resp); !ok {
		t.Errorf("404: a changed session was not saved")
	}
}

// TestCommitWithoutHandler: a net/http handler that manages its
// session itself loads it from the request's Cookie headers and commits it
// into the ResponseWriter's header before writing.
func TestCommitWithoutHandler(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "other=1; "+cookieHeader(e.m, v))
	w := httptest.NewRecorder()
	w.Header().Set("Vary", "Accept-Encoding")

	s := e.m.Load(r.Context(), r.Header["Cookie"]...)
	if n, _ := getInt(t, s, "n"); n != 1 {
		t.Fatalf("Load: n = %d", n)
	}
	_ = s.Set("n", 2)
	if err := e.m.Commit(s, http.StatusOK, w.Header()); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Commit(s, http.StatusOK, w.Header()); err != nil { // a session commits once
		t.Fatal(err)
	}
	h := w.Header()
	if got := h.Values("Set-Cookie"); len(got) != 1 {
		t.Fatalf("Set-Cookie = %q, want one", got)
	}
	if got := h.Values("Vary"); strings.Join(got, ",") != "Accept-Encoding,Cookie" {
		t.Errorf("Vary = %q", got)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
	}
	resp := &http.Response{Header: h}
	got, _ := responseCookie(e.m, resp)
	if n, _ := getInt(t, e.load(got), "n"); n != 2 {
		t.Errorf("saved n = %d, want 2", n)
	}
}

// SaveEveryRequest, derived from Django's behaviour: with renewal on every request (Django's
// SESSION_SAVE_EVERY_REQUEST; crumb's RenewAfter of a nanosecond), a valid
// cookie the view ignores is re-sealed with a new last save and
// Max-Age=SCA, plus Vary: Cookie (which Django omits).
func TestSaveEveryRequest(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{RenewAfter: time.Nanosecond})
	cookie := h.seed(map[string]any{"foo": "bar"})
	issued := h.now()

	h.clock.Advance(time.Minute)
	resp := h.serve(ignore, cookie)
	c := onlyCookie(t, resp.Header)
	if c.Value == "" || c.Value == cookie {
		t.Fatalf("Set-Cookie %q, want a re-sealed session cookie", c.String())
	}
	if want := int(sca / time.Second); c.MaxAge != want {
		t.Errorf("Max-Age = %d, want %d", c.MaxAge, want)
	}
	wantVary(t, resp.Header, true)
	info := h.load(c.Value).Info()
	if !info.SavedAt.Equal(h.now()) || !info.IssuedAt.Equal(issued) {
		t.Errorf("re-sealed SavedAt, IssuedAt = %v, %v, want %v, %v", info.SavedAt, info.IssuedAt, h.now(), issued)
	}
	if want := h.now().Add(sca); !info.Expires.Equal(want) {
		t.Errorf("re-sealed deadline = %v, want %v", info.Expires, want)
	}
}

// SaveEveryRequestNoCookie, derived from Django's behaviour: with no cookie, an ignored session
// is not created.
func TestSaveEveryRequestNoCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{RenewAfter: time.Nanosecond})
	resp := h.serve(ignore)
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, false)
}

// DefaultCookie, derived from Django's behaviour: with default settings, Max-Age=1209600 and
// Expires = now + 1209600 s as an HTTP-date.
func TestDefaultCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	h.clock.Advance(1234 * time.Second)
	resp := h.serve(setHello(t))
	c := onlyCookie(t, resp.Header)
	if c.MaxAge != 1209600 {
		t.Errorf("Max-Age = %d, want 1209600", c.MaxAge)
	}
	want := h.now().Add(sca)
	if !c.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", c.Expires, want)
	}
	if got, wantRaw := c.RawExpires, want.UTC().Format(http.TimeFormat); got != wantRaw {
		t.Errorf("Expires attribute = %q, want %q", got, wantRaw)
	}
	h.wantAttributes(c)
	if c.Name != "__Host-sessionid" {
		t.Errorf("cookie name = %q, want __Host-sessionid", c.Name)
	}
	wantVary(t, resp.Header, true)
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

// flushView flushes the session.
func flushView(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if err := s.Flush(); err != nil {
			t.Error(err)
		}
	}
}

// Django test_secure_session_cookie: with Secure on (crumb's
// default) the cookie is Secure; only InsecureHTTP turns it off.
func TestSecure(t *testing.T) {
	t.Parallel()
	for _, insecure := range []bool{false, true} {
		h := newManager(t, cookiesession.Config{InsecureHTTP: insecure})
		c := onlyCookie(t, h.serve(setHello(t)).Header)
		if c.Secure != !insecure {
			t.Errorf("InsecureHTTP %v: Secure = %v, want %v", insecure, c.Secure, !insecure)
		}
		h.wantAttributes(c)
	}
}

// Django test_httponly_session_cookie: with HttpOnly on (the
// default) the Set-Cookie carries HttpOnly.
func TestHttpOnly(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	resp := h.serve(setHello(t))
	if c := onlyCookie(t, resp.Header); !c.HttpOnly {
		t.Errorf("HttpOnly = false in %q, want true", resp.Header.Values("Set-Cookie"))
	}
}

// Django test_samesite_session_cookie: SameSite Strict gives
// SameSite=Strict.
func TestSameSite(t *testing.T) {
	t.Parallel()
	for _, ss := range []http.SameSite{http.SameSiteStrictMode, http.SameSiteLaxMode, http.SameSiteNoneMode} {
		h := newManager(t, cookiesession.Config{SameSite: ss})
		if c := onlyCookie(t, h.serve(setHello(t)).Header); c.SameSite != ss {
			t.Errorf("SameSite = %v, want %v", c.SameSite, ss)
		}
	}
}

// Django test_no_httponly_session_cookie: with HttpOnly off there
// is no HttpOnly attribute.
func TestNoHttpOnly(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{InsecureScriptAccess: true})
	resp := h.serve(setHello(t))
	if c := onlyCookie(t, resp.Header); c.HttpOnly {
		t.Errorf("HttpOnly = true in %q, want false", resp.Header.Values("Set-Cookie"))
	}
}

// Django test_session_save_on_500: a view that writes data and
// answers 500 gets no Set-Cookie.
func TestNoSaveOn500(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
		setHello(t)(w, r)
		w.WriteHeader(http.StatusInternalServerError)
	})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true) // the session was accessed
}

// Django test_session_save_on_5xx: as TestNoSaveOn500 for every 5xx; a
// deletion (rule R2) still applies.
func TestNoSaveOn503(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	cookie := h.seed(map[string]any{"k": "v"})
	for _, status := range []int{501, 502, 503, 504, 599} {
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			setHello(t)(w, r)
			w.WriteHeader(status)
		}, cookie)
		noCookie(t, resp.Header)

		resp = h.serve(func(w http.ResponseWriter, r *http.Request) {
			flushView(t)(w, r)
			w.WriteHeader(status)
		}, cookie)
		h.wantDeletion(onlyCookie(t, resp.Header))
	}
	// The control: the same view answering 200 saves.
	if c := onlyCookie(t, h.serve(setHello(t), cookie).Header); c.Value == "" {
		t.Errorf("status 200: Set-Cookie %q, want a session cookie", c.String())
	}
}

// Django test_session_delete_on_end: a view that flushes, given
// the incoming cookie "abc" (or a valid one), gets a deletion with an empty
// value, Max-Age=0, the epoch Expires, Path=/, SameSite=Lax and the
// configured Secure and HttpOnly, and Vary: Cookie.
func TestDeleteOnFlush(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	for _, cookie := range []string{"abc", h.seed(map[string]any{"k": "v"})} {
		resp := h.serve(flushView(t), cookie)
		c := onlyCookie(t, resp.Header)
		h.wantDeletion(c)
		if c.Path != "/" || c.SameSite != http.SameSiteLaxMode || !c.Secure || !c.HttpOnly {
			t.Errorf("deletion = %q, want Path=/, SameSite=Lax, Secure, HttpOnly", c.String())
		}
		if got, ok := attribute(resp.Header.Get("Set-Cookie"), "Max-Age"); got != "0" || !ok {
			t.Errorf("deletion %q: Max-Age = %q, %v, want \"0\", true", resp.Header.Get("Set-Cookie"), got, ok)
		}
		wantVary(t, resp.Header, true)
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
	}
}

// Django test_session_delete_on_end_with_custom_domain_and_path:
// the deletion carries the configured Domain and Path.
func TestDeleteCustomScope(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{Domain: ".example.local", Path: "/example/"})
	req := httptest.NewRequest(http.MethodGet, "https://www.example.local/example/", nil)
	req.Header.Set("Cookie", h.header("abc"))
	resp := h.do(req, flushView(t))
	c := onlyCookie(t, resp.Header)
	h.wantDeletion(c)
	if c.Domain != "example.local" && c.Domain != ".example.local" {
		t.Errorf("deletion Domain = %q, want example.local", c.Domain)
	}
	if c.Path != "/example/" {
		t.Errorf("deletion Path = %q, want /example/", c.Path)
	}
	wantVary(t, resp.Header, true)
}

// Django test_flush_empty_without_session_cookie_doesnt_set_cookie:
// a flush with no incoming cookie sends no Set-Cookie, but Vary: Cookie.
func TestFlushNoCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	resp := h.serve(flushView(t))
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
}

// Django test_empty_session_saved: a session emptied by deleting
// its last key keeps its ID and is saved again, not deleted.
func TestEmptiedStillSaved(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	var (
		mu  sync.Mutex
		ids []string
	)
	client, url := h.client(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		mu.Lock()
		ids = append(ids, s.ID())
		mu.Unlock()
		switch r.URL.Path {
		case "/set":
			if err := s.Set("foo", "bar"); err != nil {
				t.Error(err)
			}
		case "/delete":
			if !s.Delete("foo") {
				t.Error(`Delete("foo") = false, want true`)
			}
		}
	})

	resp := get(t, client, url+"/set")
	first := onlyCookie(t, resp.Header)
	if first.Value == "" {
		t.Fatalf("request 1 Set-Cookie %q, want a session cookie", first.String())
	}
	wantVary(t, resp.Header, true)
	id := h.load(first.Value).ID()

	resp = get(t, client, url+"/delete")
	second := onlyCookie(t, resp.Header)
	if second.Value == "" || second.MaxAge <= 0 {
		t.Fatalf("request 2 Set-Cookie %q, want a session cookie, not a deletion", second.String())
	}
	wantVary(t, resp.Header, true)
	s := h.load(second.Value)
	if got := s.ID(); got != id {
		t.Errorf("ID() after emptying = %q, want %q", got, id)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() after emptying = %d, want 0", n)
	}

	get(t, client, url+"/") // the jar sends the emptied cookie back
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 3 || ids[0] != "" || ids[1] != id || ids[2] != id {
		t.Errorf("IDs seen by the view = %q, want [\"\" %q %q]", ids, id, id)
	}
	h.wantErrors()
}

// Django test_save_doesnt_clear_data and test_save: saving keeps
// the data in the session, and the new cookie opens to the same data.
func TestSaveKeepsData(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("a", "b"); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := h.m.Commit(s, http.StatusOK, w.Header()); err != nil {
		t.Fatalf("Commit() error = %v", err)
	}
	wantString(t, s, "a", "b")
	c := onlyCookie(t, w.Header())
	r := h.load(c.Value)
	wantString(t, r, "a", "b")
	if got, want := r.ID(), s.ID(); got != want || got == "" {
		t.Errorf("ID of the saved cookie = %q, want %q (the saving session's, non-empty)", got, want)
	}
}

func TestCommitEmitDefaults(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	s := e.load()
	if err := s.Set("n", 1); err != nil {
		t.Fatal(err)
	}
	h, err := commitHeader(e.m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	lines := h.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie = %q, want one line", lines)
	}
	cookies := checkSetCookies(t, e.m, h)
	c := cookies[0]
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
		c.SameSite != http.SameSiteLaxMode || c.Partitioned {
		t.Errorf("default cookie = %q: want __Host-, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax, not Partitioned", lines[0])
	}
	if !strings.Contains(lines[0], "; SameSite=Lax") {
		t.Errorf("default cookie %q does not state SameSite explicitly", lines[0])
	}
	want := int((14 * 24 * time.Hour) / time.Second)
	if c.MaxAge != want {
		t.Errorf("Max-Age = %d, want Lifetime %d", c.MaxAge, want)
	}
	if !c.Expires.Equal(t0.Add(time.Duration(c.MaxAge) * time.Second)) {
		t.Errorf("Expires = %v, want now + Max-Age = %v", c.Expires, t0.Add(time.Duration(c.MaxAge)*time.Second))
	}
}

func TestCommitEmitPartitioned(t *testing.T) {
	t.Parallel()
	e := newHarness(t, func(c *cookiesession.Config) {
		c.SameSite = http.SameSiteNoneMode
		c.Partitioned = true
	})
	s := e.load()
	_ = s.Set("n", 1)
	h, err := commitHeader(e.m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	c := checkSetCookies(t, e.m, h)[0]
	if !c.Partitioned || c.SameSite != http.SameSiteNoneMode || !c.Secure {
		t.Errorf("cookie %q: want Secure, SameSite=None, Partitioned", h.Get("Set-Cookie"))
	}
}

// TestCommitEmitDeletion checks that the deletion cookie matches the session
// cookie attribute for attribute, so that the browser deletes that cookie.
func TestCommitEmitDeletion(t *testing.T) {
	t.Parallel()
	configs := map[string]func(*cookiesession.Config){
		"default": nil,
		"domain, path, partitioned, strict, script access": func(c *cookiesession.Config) {
			c.Domain = "example.com"
			c.Path = "/app"
			c.SameSite = http.SameSiteNoneMode
			c.Partitioned = true
			c.InsecureScriptAccess = true
		},
		"insecure HTTP, strict": func(c *cookiesession.Config) {
			c.InsecureHTTP = true
			c.SameSite = http.SameSiteStrictMode
		},
	}
	for name, mod := range configs {
		t.Run(name, func(t *testing.T) {
			e := newHarness(t, mod)
			v := e.saveWith(setter(t, "n", 1))
			set := e.load()
			_ = set.Set("n", 1)
			live := e.commitOne(set)

			s := e.load(v)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			del := e.commitOne(s)
			if del == nil {
				t.Fatal("Flush sent no deletion cookie")
			}
			if del.Value != "" || del.MaxAge != -1 || !del.Expires.Equal(time.Unix(0, 0)) {
				t.Errorf("deletion = %+v: want empty value, Max-Age=0 (MaxAge -1), Expires at the epoch", del)
			}
			if del.Name != live.Name || del.Path != live.Path || del.Domain != live.Domain || del.Secure != live.Secure ||
				del.HttpOnly != live.HttpOnly || del.SameSite != live.SameSite || del.Partitioned != live.Partitioned {
				t.Errorf("deletion attributes %+v differ from the session cookie's %+v", del, live)
			}
		})
	}
}

func TestCommitEmitMaxAgeCaps(t *testing.T) {
	t.Parallel()
	t.Run("400 days", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.Lifetime = 500 * 24 * time.Hour })
		s := e.load()
		_ = s.Set("n", 1)
		c := e.commitOne(s)
		if c.MaxAge != 400*24*60*60 {
			t.Errorf("Max-Age = %d with Lifetime 500 days, want 400 days (%d)", c.MaxAge, 400*24*60*60)
		}
		if !c.Expires.Equal(t0.Add(400 * 24 * time.Hour)) {
			t.Errorf("Expires = %v, want now + 400 days", c.Expires)
		}
		// The sealed deadline is still the configured one.
		if got := s.Info().Expires; !got.Equal(t0.Add(500 * 24 * time.Hour)) {
			t.Errorf("sealed deadline = %v, want now + 500 days", got)
		}
	})
	t.Run("fixed deadline", func(t *testing.T) {
		e := newHarness(t, nil)
		s := e.load()
		s.SetExpiry(cookiesession.ExpiresAt(t0.Add(time.Hour)))
		c := e.commitOne(s)
		if c.MaxAge != 3600 {
			t.Errorf("Max-Age = %d with a deadline in 1h, want 3600", c.MaxAge)
		}
	})
	t.Run("absolute cap", func(t *testing.T) {
		e := newHarness(t, func(c *cookiesession.Config) { c.AbsoluteLifetime = 2 * time.Hour })
		v := e.saveWith(setter(t, "n", 1))
		e.clock.Advance(90 * time.Minute)
		s := e.load(v)
		_ = s.Set("n", 2)
		c := e.commitOne(s)
		if c.MaxAge != 30*60 {
			t.Errorf("Max-Age = %d, 90m into a 2h absolute lifetime; want 1800", c.MaxAge)
		}
	})
}

// TestCommitMerges: Commit adds its fields to the header it is given,
// keeping what is there.
func TestCommitMerges(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	var s *cookiesession.Session
	tests := []struct {
		name           string
		dst            http.Header
		wantVary, want []string
	}{
		{"empty", http.Header{}, []string{"Cookie"}, []string{"no-store"}},
		{"other Vary", http.Header{"Vary": {"Accept-Encoding"}}, []string{"Accept-Encoding", "Cookie"}, []string{"no-store"}},
		{"Vary list with cookie", http.Header{"Vary": {"Accept-Encoding, cookie"}}, []string{"Accept-Encoding, cookie"}, []string{"no-store"}},
		{"lowercase cookie", http.Header{"Vary": {"cookie"}}, []string{"cookie"}, []string{"no-store"}},
		{"Vary *", http.Header{"Vary": {"*"}}, []string{"*"}, []string{"no-store"}},
		{"other Cache-Control", http.Header{"Cache-Control": {"private, max-age=60"}}, []string{"Cookie"}, []string{"private, max-age=60", "no-store"}},
		{"existing No-Store", http.Header{"Cache-Control": {"No-Store"}}, []string{"Cookie"}, []string{"No-Store"}},
		{"no-store in a list", http.Header{"Cache-Control": {"private, no-store"}}, []string{"Cookie"}, []string{"private, no-store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two sessions (two cookies, say) committed into one header
			// add one Vary and one no-store.
			dst := tt.dst.Clone()
			for range 2 {
				s := e.load()
				_ = s.Set("n", 1)
				if err := e.m.Commit(s, http.StatusOK, dst); err != nil {
					t.Fatal(err)
				}
			}
			if got := dst.Values("Vary"); !slices.Equal(got, tt.wantVary) {
				t.Errorf("Vary = %q, want %q", got, tt.wantVary)
			}
			if got := dst.Values("Cache-Control"); !slices.Equal(got, tt.want) {
				t.Errorf("Cache-Control = %q, want %q", got, tt.want)
			}
			if got := dst.Values("Set-Cookie"); len(got) != 2 {
				t.Errorf("Set-Cookie = %q after two commits, want two cookies", got)
			}
		})
	}

	// An untouched session adds nothing at all, and a second Commit of a
	// session adds nothing either.
	dst := http.Header{}
	if err := e.m.Commit(e.load(), http.StatusOK, dst); err != nil || len(dst) != 0 {
		t.Errorf("Commit of an untouched session added %v (%v), want nothing", dst, err)
	}
	s = e.load()
	_ = s.Set("n", 1)
	_ = e.m.Commit(s, http.StatusOK, http.Header{})
	if err := e.m.Commit(s, http.StatusOK, dst); err != nil || len(dst) != 0 {
		t.Errorf("a second Commit added %v (%v), want nothing", dst, err)
	}
}
