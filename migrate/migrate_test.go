package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/migrate"
	"github.com/crumbhq/crumb/migrate/django"
	"github.com/crumbhq/crumb/rotation"
)

// djangoGolden returns the Django test key, the time its golden cookies
// were signed, and the cookies by name (migrate/django/testdata).
func djangoGolden(t *testing.T) (string, time.Time, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("django/testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		SecretKey string `json:"secret_key"`
		SignedAt  int64  `json:"signed_at"`
		Cookies   []struct{ Name, Value string }
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	cookies := map[string]string{}
	for _, c := range g.Cookies {
		cookies[c.Name] = c.Value
	}
	return g.SecretKey, time.Unix(g.SignedAt, 0), cookies
}

// mapDjangoUser keeps Django's user ID as the subject and the cart.
func mapDjangoUser(old map[string]any, s *cookiesession.Session) error {
	id, _ := old["_auth_user_id"].(string)
	if id == "" {
		return errors.New("not logged in")
	}
	if err := s.SetSubject(id); err != nil {
		return err
	}
	if cart, ok := old["cart"]; ok {
		b, _ := json.Marshal(cart)
		var items []int
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		return s.Set("cart", items)
	}
	return nil
}

// site is a crumb application in transition from Django, reading the
// golden cookies' key and keeping Django's user and cart.
func site(t *testing.T) (http.Handler, string, map[string]string) {
	t.Helper()
	secret, _, cookies := djangoGolden(t)
	h, sessions := siteWith(t, &django.Reader{SecretKey: secret}, mapDjangoUser)
	return h, sessions.Name(), cookies
}

// get serves one request with the Cookie header cookie.
func get(h http.Handler, path, cookie string) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodGet, "https://example.com"+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

// setCookies returns the Set-Cookie lines of resp by cookie name.
func setCookies(resp *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		out[c.Name] = c
	}
	return out
}

// TestDjangoMigration: a user logged in on the Django site keeps their
// session: the first request with Django's cookie gets a crumb session
// made from it and the Django cookie deleted; the next requests carry the
// crumb cookie alone.
func TestDjangoMigration(t *testing.T) {
	t.Parallel()
	h, name, cookies := site(t)
	resp, body := get(h, "/me", "sessionid="+cookies["valid"])
	if body != "42 [101,202,303]" {
		t.Fatalf("first request: %q, want Django's user 42 and cart", body)
	}
	set := setCookies(resp)
	crumbCookie, legacy := set[name], set["sessionid"]
	if crumbCookie == nil || crumbCookie.Value == "" || legacy == nil || legacy.MaxAge >= 0 {
		t.Fatalf("first response sets %v: want a crumb cookie and the Django cookie deleted", resp.Header.Values("Set-Cookie"))
	}
	if _, body := get(h, "/me", name+"="+crumbCookie.Value); body != "42 [101,202,303]" {
		t.Errorf("with the crumb cookie alone: %q", body)
	}
	// A browser that still sends both: the crumb session wins, the old
	// cookie goes.
	resp, body = get(h, "/me", name+"="+crumbCookie.Value+"; sessionid="+cookies["fallback key"])
	if body != "42 [101,202,303]" || setCookies(resp)["sessionid"] == nil {
		t.Errorf("both cookies: %q, Set-Cookie %v", body, resp.Header.Values("Set-Cookie"))
	}
}

func TestDjangoCookiesRefused(t *testing.T) {
	t.Parallel()
	h, name, cookies := site(t)
	for _, c := range []string{"tampered", "wrong key", "pickle serializer", "fallback key"} {
		resp, body := get(h, "/me", "sessionid="+cookies[c])
		set := setCookies(resp)
		if body != " null" || set[name] != nil || set["sessionid"] == nil || set["sessionid"].MaxAge >= 0 {
			t.Errorf("%s: body %q, Set-Cookie %v; want no session, and the Django cookie deleted", c, body, resp.Header.Values("Set-Cookie"))
		}
	}
}

// TestMigrationFailedRequest: a request that fails with a 5xx saves no
// crumb session, so it keeps the Django cookie too.
func TestMigrationFailedRequest(t *testing.T) {
	t.Parallel()
	h, _, cookies := site(t)
	resp, _ := get(h, "/broken", "sessionid="+cookies["valid"])
	if resp.StatusCode != http.StatusInternalServerError || len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("a 500: Set-Cookie %v, want none (the Django cookie kept)", resp.Header.Values("Set-Cookie"))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Cookie") {
		t.Errorf("Vary %q", resp.Header.Get("Vary"))
	}
}

// siteWith is a crumb application in transition from Django with the
// Reader and Map given, at the time the golden cookies were signed plus
// an hour. /me prints the subject and the cart; /broken answers 500.
func siteWith(t *testing.T, legacy migrate.Reader, mapFn func(map[string]any, *cookiesession.Session) error) (http.Handler, *cookiesession.Manager) {
	t.Helper()
	_, signed, _ := djangoGolden(t)
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return signed.Add(time.Hour) }
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		cart, _, _ := cookiesession.Get[[]int](s, "cart")
		b, _ := json.Marshal(cart)
		io.WriteString(w, s.Subject()+" "+string(b))
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	return sessions.Handler(migrate.Handler(migrate.Config{Sessions: sessions, Legacy: legacy, Map: mapFn, Clock: now}, mux)), sessions
}

// TestMigrationKeepsTheOldCookie: the old cookie stays whenever the new
// session is not in the response, so that nobody is logged out by a
// migration that did not happen.
func TestMigrationKeepsTheOldCookie(t *testing.T) {
	t.Parallel()
	secret, _, cookies := djangoGolden(t)
	good := &django.Reader{SecretKey: secret}
	tooLarge := func(old map[string]any, s *cookiesession.Session) error {
		if err := mapDjangoUser(old, s); err != nil {
			return err
		}
		return s.Set("notes", strings.Repeat("x", 5000)) // stored, but no cookie holds it
	}
	failing := func(map[string]any, *cookiesession.Session) error { return errors.New("no such user") }
	for _, tc := range []struct {
		name   string
		legacy migrate.Reader
		mapFn  func(map[string]any, *cookiesession.Session) error
	}{
		{"too large for a cookie", good, tooLarge},
		{"Map fails", good, failing},
		{"a Reader without its key", &django.Reader{}, mapDjangoUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, sessions := siteWith(t, tc.legacy, tc.mapFn)
			resp, _ := get(h, "/me", "sessionid="+cookies["valid"])
			set := setCookies(resp)
			if set["sessionid"] != nil || (set[sessions.Name()] != nil && set[sessions.Name()].Value != "") {
				t.Errorf("Set-Cookie %v: want neither a crumb session nor the Django cookie deleted", resp.Header.Values("Set-Cookie"))
			}
		})
	}

	// A crumb cookie this instance cannot open (sealed by a key it lacks):
	// no migration over it, and the Django cookie stays.
	_, otherSessions := siteWith(t, good, mapDjangoUser)
	s := otherSessions.Load(context.Background())
	s.Set("x", 1)
	hdr := http.Header{}
	if err := otherSessions.Commit(s, http.StatusOK, hdr); err != nil {
		t.Fatal(err)
	}
	foreign, _, _ := strings.Cut(hdr.Get("Set-Cookie"), ";")
	h, _ := siteWith(t, good, mapDjangoUser)
	resp, body := get(h, "/me", foreign+"; sessionid="+cookies["valid"])
	if body != " null" || len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("with a crumb cookie of another key: %q, Set-Cookie %v; want no migration, both cookies kept", body, resp.Header.Values("Set-Cookie"))
	}
}
