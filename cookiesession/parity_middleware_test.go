package cookiesession_test

// Django parity: the session middleware, ported from Django's
// SessionMiddlewareTests; each case names the Django test it ports. Unless
// stated otherwise the view sets "hello" = "world".

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
)

// setHello is the view of Django's middleware tests.
func setHello(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := cookiesession.FromContext(r.Context())
		if !ok {
			t.Error("FromContext() found no session")
			return
		}
		if err := s.Set("hello", "world"); err != nil {
			t.Error(err)
		}
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

// Case 44, Django test_secure_session_cookie: with Secure on (crumb's
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

// Case 45, Django test_httponly_session_cookie: with HttpOnly on (the
// default) the Set-Cookie carries HttpOnly.
func TestHttpOnly(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	resp := h.serve(setHello(t))
	if c := onlyCookie(t, resp.Header); !c.HttpOnly {
		t.Errorf("HttpOnly = false in %q, want true", resp.Header.Values("Set-Cookie"))
	}
}

// Case 46, Django test_samesite_session_cookie: SameSite Strict gives
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

// Case 47, Django test_no_httponly_session_cookie: with HttpOnly off there
// is no HttpOnly attribute.
func TestNoHttpOnly(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{InsecureScriptAccess: true})
	resp := h.serve(setHello(t))
	if c := onlyCookie(t, resp.Header); c.HttpOnly {
		t.Errorf("HttpOnly = true in %q, want false", resp.Header.Values("Set-Cookie"))
	}
}

// Case 48, Django test_session_save_on_500: a view that writes data and
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

// Case 49, Django test_session_save_on_5xx: as case 48 for every 5xx; a
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

// Case 50, Django test_session_delete_on_end: a view that flushes, given
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

// Case 51, Django test_session_delete_on_end_with_custom_domain_and_path:
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

// Case 52, Django test_flush_empty_without_session_cookie_doesnt_set_cookie:
// a flush with no incoming cookie sends no Set-Cookie, but Vary: Cookie.
func TestFlushNoCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	resp := h.serve(flushView(t))
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
}

// Case 53, Django test_empty_session_saved: a session emptied by deleting
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
