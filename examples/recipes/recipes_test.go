package recipes

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func newKeys(t *testing.T) *rotation.Keyring {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// newSessions returns a Manager with a fresh key and the defaults.
func newSessions(t *testing.T) *cookiesession.Manager {
	t.Helper()
	sessions, err := cookiesession.New(cookiesession.Config{Keys: newKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	return sessions
}

// site serves h and is browsed by a client with a cookie jar that does
// not follow redirects.
type site struct {
	t   *testing.T
	url string
	c   *http.Client
}

func newSite(t *testing.T, h http.Handler) *site {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Transport: srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &site{t: t, url: srv.URL, c: c}
}

// do sends a request and returns the response and its body.
func (s *site) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// show is a route that prints the session's ID and user.
func show(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	user, _, _ := cookiesession.Get[string](s, "user")
	io.WriteString(w, s.ID()+" "+user)
}

// plant is a route that stores something, so that the session has an ID
// before login.
func plant(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	s.Set("theme", "dark")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	sessions, _, err := NewSessions(newKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", Login)
	mux.HandleFunc("GET /show", show)
	mux.HandleFunc("POST /plant", plant)
	site := newSite(t, sessions.Handler(mux))
	site.do("POST", "/plant", nil)
	_, before := site.do("GET", "/show", nil)
	if resp, _ := site.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp, _ := site.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"secret-of-ann"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, after := site.do("GET", "/show", nil)
	beforeID, _, _ := strings.Cut(before, " ")
	afterID, user, _ := strings.Cut(after, " ")
	if beforeID == "" || afterID == beforeID || user != "ann" {
		t.Errorf("before login %q, after %q: want a new ID and the user", before, after)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	sessions, _, err := NewSessions(newKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", Login)
	mux.HandleFunc("POST /logout", Logout)
	mux.HandleFunc("GET /show", show)
	site := newSite(t, sessions.Handler(mux))
	site.do("POST", "/login", url.Values{"user": {"ann"}, "password": {"secret-of-ann"}})
	u, _ := url.Parse(site.url)
	stolen := site.c.Jar.Cookies(u)
	if len(stolen) != 1 {
		t.Fatalf("after login the browser holds %d cookies", len(stolen))
	}
	site.do("POST", "/logout", nil)
	if left := site.c.Jar.Cookies(u); len(left) != 0 {
		t.Errorf("after logout the browser still holds %v", left)
	}
	// A copy of the cookie from before the logout no longer works.
	_, body := site.do("GET", "/show", nil, "Cookie", stolen[0].Name+"="+stolen[0].Value)
	if strings.TrimSpace(body) != "" {
		t.Errorf("a copy of the logged-out cookie still opens: %q", body)
	}
}

func TestRememberMe(t *testing.T) {
	t.Parallel()
	sessions := newSessions(t)
	for _, remember := range []bool{true, false} {
		s := sessions.Load(context.Background())
		if err := s.Set("user", "ann"); err != nil {
			t.Fatal(err)
		}
		RememberMe(s, remember)
		h := http.Header{}
		if err := sessions.Commit(s, http.StatusOK, h); err != nil {
			t.Fatal(err)
		}
		c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
		if err != nil {
			t.Fatal(err)
		}
		if remember && c.MaxAge != 30*24*60*60 || !remember && c.MaxAge != 0 {
			t.Errorf("remember %v: Max-Age %d", remember, c.MaxAge)
		}
	}
}

func TestFlash(t *testing.T) {
	t.Parallel()
	sessions := newSessions(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /saved", Saved)
	mux.HandleFunc("GET /page", Page)
	site := newSite(t, sessions.Handler(mux))
	if resp, _ := site.do("POST", "/saved", nil); resp.Header.Get("Location") != "/page" {
		t.Fatalf("Saved redirects to %q", resp.Header.Get("Location"))
	}
	if _, body := site.do("GET", "/page", nil); body != "Saved!\n" {
		t.Errorf("the page after the redirect shows %q", body)
	}
	if _, body := site.do("GET", "/page", nil); body != "" {
		t.Errorf("the message showed twice: %q", body)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	sessions := newSessions(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /saved", Saved)
	site := newSite(t, Protect(sessions, mux))
	if resp, _ := site.do("POST", "/saved", nil, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if resp, _ := site.do("POST", "/saved", nil, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", resp.StatusCode)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	sessions := newSessions(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", AddToCart)
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		cart, _, _ := cookiesession.Get[[]string](s, "cart")
		io.WriteString(w, strings.Repeat("x", len(cart)))
	})
	site := newSite(t, sessions.Handler(mux))
	u, _ := url.Parse(site.url)
	item := strings.Repeat("tea ", 25)
	for n := 1; ; n++ {
		resp, _ := site.do("POST", "/cart", url.Values{"item": {item}})
		if resp.StatusCode == http.StatusSeeOther {
			continue
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("item %d: status %d", n, resp.StatusCode)
		}
		if _, body := site.do("GET", "/count", nil); len(body) != n-1 || len(site.c.Jar.Cookies(u)) != 1 {
			t.Errorf("after the refused item %d the cart holds %d", n, len(body))
		}
		return
	}
}

func TestTwoCookies(t *testing.T) {
	t.Parallel()
	users, admins, err := TwoCookies(newKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := users.FromContext(r.Context())
		s.Set("user", "ann")
	})
	mux.HandleFunc("POST /admin/login", AdminLogin(users, admins))
	site := newSite(t, users.Handler(admins.Handler(mux)))
	if resp, _ := site.do("POST", "/admin/login", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin login before user login: %d", resp.StatusCode)
	}
	site.do("POST", "/login", nil)
	if resp, _ := site.do("POST", "/admin/login", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("admin login after user login: %d", resp.StatusCode)
	}
	u, _ := url.Parse(site.url)
	var names []string
	for _, c := range site.c.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"__Host-admin", "__Host-session"}) {
		t.Errorf("the browser holds %q, want both session cookies", names)
	}
}

// TestRecipesQuoted checks that docs/RECIPES.md quotes each recipe of
// recipes.go word for word, and no other code.
func TestRecipesQuoted(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("recipes.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/RECIPES.md")
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)// recipe: ([a-z-]+)\n(.*?)\n// end recipe\n`).FindAllStringSubmatch(string(src), -1) {
		code[m[1]] = strings.TrimSpace(m[2])
	}
	quoted := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)<!-- recipe: ([a-z-]+) -->\n```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		quoted[m[1]] = strings.TrimSpace(m[2])
	}
	if len(code) < 7 {
		t.Fatalf("recipes.go holds %d recipes", len(code))
	}
	for name, c := range code {
		if quoted[name] != c {
			t.Errorf("docs/RECIPES.md does not quote recipe %q as recipes.go has it", name)
		}
	}
	for name := range quoted {
		if _, ok := code[name]; !ok {
			t.Errorf("docs/RECIPES.md quotes recipe %q, which recipes.go lacks", name)
		}
	}
}
