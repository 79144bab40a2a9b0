package cookiesession_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// exampleKeys returns a keyring with one fresh key. A real application
// loads its keys with rotation.FromEnv or rotation.NewFileSource, so that
// every instance and restart shares them.
func exampleKeys() *rotation.Keyring {
	key, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	keys, err := rotation.NewKeyring(key)
	if err != nil {
		log.Fatal(err)
	}
	return keys
}

func ExampleNew() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sessions.Name())

	// Settings that cannot work are refused, never repaired.
	_, err = cookiesession.New(cookiesession.Config{
		Keys:         exampleKeys(),
		SameSite:     http.SameSiteNoneMode,
		InsecureHTTP: true, // SameSite=None needs Secure
	})
	fmt.Println(errors.Is(err, cookiesession.ErrConfig))
	// Output:
	// __Host-sessionid
	// true
}

func ExampleManager_Handler() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context()) // never missing under Handler
		visits, _, err := cookiesession.Get[int](s, "visits")
		if err != nil {
			http.Error(w, "bad session", http.StatusInternalServerError)
			return
		}
		visits++
		if err := s.Set("visits", visits); err != nil {
			http.Error(w, "bad session", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visits: %d\n", visits)
	})
	srv := httptest.NewTLSServer(sessions.Handler(mux))
	defer srv.Close()

	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 2 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
	}
	// Output:
	// visits: 1
	// visits: 2
}

// exampleCookie saves a session holding user = "ada" and returns the Cookie
// header a browser would send back.
func exampleCookie(sessions *cookiesession.Manager) string {
	s := sessions.Load(context.Background())
	_ = s.Set("user", "ada")
	fields := http.Header{}
	if err := sessions.Commit(s, http.StatusOK, fields); err != nil {
		log.Fatal(err)
	}
	c, err := http.ParseSetCookie(fields.Get("Set-Cookie"))
	if err != nil {
		log.Fatal(err)
	}
	return c.Name + "=" + c.Value
}

// Serverless and edge handlers pass the request's Cookie headers, or the
// cookies list of an API Gateway event, to Load.
func ExampleManager_Load() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	cookie := exampleCookie(sessions)

	// API Gateway HTTP APIs deliver cookies as a list of "name=value".
	event := []string{"theme=dark", cookie}
	s := sessions.Load(context.Background(), event...)
	user, ok, err := cookiesession.Get[string](s, "user")
	fmt.Println(user, ok, err)
	// Output:
	// ada true <nil>
}

// Commit adds the header fields the session needs to the response's
// header: a net/http handler without Handler passes w.Header(); a
// serverless handler passes a fresh header and copies the fields out.
func ExampleManager_Commit() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	cookie := exampleCookie(sessions)

	// Reading a session: the response must vary on Cookie, and has nothing
	// to set. Fields the response already has are kept.
	s := sessions.Load(context.Background(), cookie)
	_, _, _ = cookiesession.Get[string](s, "user")
	resp := http.Header{"Vary": {"Accept-Encoding"}}
	if err := sessions.Commit(s, http.StatusOK, resp); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Set-Cookie: %d, Vary: %q, Cache-Control: %q\n",
		len(resp.Values("Set-Cookie")), resp.Values("Vary"), resp.Get("Cache-Control"))

	// Logging out: the cookie is deleted, and no cache may keep the response.
	s = sessions.Load(context.Background(), cookie)
	_ = s.Flush()
	resp = http.Header{}
	if err := sessions.Commit(s, http.StatusOK, resp); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Set-Cookie: %d, Vary: %q, Cache-Control: %q\n",
		len(resp.Values("Set-Cookie")), resp.Values("Vary"), resp.Get("Cache-Control"))
	del, _ := http.ParseSetCookie(resp.Get("Set-Cookie"))
	fmt.Println(del.MaxAge < 0)
	// Output:
	// Set-Cookie: 0, Vary: ["Accept-Encoding" "Cookie"], Cache-Control: ""
	// Set-Cookie: 1, Vary: ["Cookie"], Cache-Control: "no-store"
	// true
}

func ExampleGet() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	type Cart struct {
		Items []string `cbor:"1,keyasint"`
	}
	s := sessions.Load(context.Background())

	cart, ok, err := cookiesession.Get[Cart](s, "cart")
	fmt.Println(cart.Items, ok, err)

	cart.Items = append(cart.Items, "tea")
	if err := s.Set("cart", cart); err != nil {
		log.Fatal(err)
	}
	cart, ok, err = cookiesession.Get[Cart](s, "cart")
	fmt.Println(cart.Items, ok, err)

	_, _, err = cookiesession.Get[int](s, "cart")
	fmt.Println(errors.Is(err, cookiesession.ErrDecode))
	// Output:
	// [] false <nil>
	// [tea] true <nil>
	// true
}

func ExampleSession_SetExpiry() {
	now := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:  exampleKeys(),
		Clock: func() time.Time { return now }, // for a stable output
	})
	if err != nil {
		log.Fatal(err)
	}
	s := sessions.Load(context.Background())
	fmt.Println(s.ExpiryDate().Sub(now)) // Config.Lifetime: two weeks

	s.SetExpiry(cookiesession.IdleFor(5 * time.Minute)) // a bank: 5 minutes of inactivity
	fmt.Println(s.ExpiryDate().Sub(now))

	s.SetExpiry(cookiesession.ExpiresAt(now.Add(time.Hour))) // a fixed deadline
	fmt.Println(s.ExpiryDate().UTC().Format(time.Kitchen))
	// Output:
	// 336h0m0s
	// 5m0s
	// 10:00AM
}

func ExampleAddFlash() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		_ = cookiesession.AddFlash(s, "Saved.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		messages, _ := cookiesession.Flashes[string](s)
		fmt.Fprintf(w, "messages: %q\n", messages)
	})
	srv := httptest.NewTLSServer(sessions.Handler(mux))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)

	show := func(resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
	}
	show(client.Post(srv.URL+"/save", "text/plain", strings.NewReader(""))) // follows the redirect
	show(client.Get(srv.URL + "/"))
	// Output:
	// messages: ["Saved."]
	// messages: []
}

func ExampleData() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	// In typed mode, the whole session is one struct of the application's.
	type State struct {
		UserID int64  `cbor:"1,keyasint"`
		Theme  string `cbor:"2,keyasint,omitempty"`
	}
	s := sessions.Load(context.Background())
	if err := cookiesession.SetData(s, State{UserID: 42, Theme: "dark"}); err != nil {
		log.Fatal(err)
	}
	fields := http.Header{}
	if err := sessions.Commit(s, http.StatusOK, fields); err != nil {
		log.Fatal(err)
	}
	c, _ := http.ParseSetCookie(fields.Get("Set-Cookie"))

	next := sessions.Load(context.Background(), c.Name+"="+c.Value)
	state, err := cookiesession.Data[State](next)
	fmt.Printf("%+v %v\n", state, err)
	// Output:
	// {UserID:42 Theme:dark} <nil>
}

func ExampleDenyList() {
	deny := new(cookiesession.DenyList)
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:    exampleKeys(),
		Revoker: deny,
	})
	if err != nil {
		log.Fatal(err)
	}
	cookie := exampleCookie(sessions)

	// Logout: Flush revokes the session ID, so a stolen copy of the cookie
	// stops working too.
	s := sessions.Load(context.Background(), cookie)
	if err := s.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := sessions.Commit(s, http.StatusOK, http.Header{}); err != nil {
		log.Fatal(err)
	}

	replay := sessions.Load(context.Background(), cookie)
	_, ok, _ := cookiesession.Get[string](replay, "user")
	fmt.Println("user found:", ok)
	fmt.Println("revoked:", errors.Is(replay.Err(), cookiesession.ErrRevoked))

	// Prune now and then forgets IDs no copy of which can be accepted.
	deny.Prune(time.Now())
	// Output:
	// user found: false
	// revoked: true
}

// Session.Err says why the request's cookie did not become its session,
// for a message the user understands.
func ExampleSession_Err() {
	now := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:     exampleKeys(),
		Lifetime: 30 * time.Minute,
		Clock:    func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	cookie := exampleCookie(sessions)
	now = now.Add(time.Hour)

	s := sessions.Load(context.Background(), cookie)
	switch err := s.Err(); {
	case errors.Is(err, cookiesession.ErrExpired):
		fmt.Println("Your session expired. Please log in again.")
	case err != nil:
		fmt.Println("Please log in.")
	}
	// Output:
	// Your session expired. Please log in again.
}

// Two Managers (two cookies) in one chain: each handler reaches each
// session through its Manager.
func ExampleManager_FromContext() {
	keys := exampleKeys()
	prefs, _ := cookiesession.New(cookiesession.Config{Keys: keys, Name: "prefs", Lifetime: 365 * 24 * time.Hour})
	auth, _ := cookiesession.New(cookiesession.Config{Keys: keys, Name: "auth", Lifetime: time.Hour})
	h := prefs.Handler(auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := prefs.FromContext(r.Context())
		a, _ := auth.FromContext(r.Context())
		_ = p.Set("theme", "dark")
		_ = a.Set("user", "ada")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, c.MaxAge)
	}
	// Output:
	// __Host-auth 3600
	// __Host-prefs 31536000
}

// A handler that asks CookieSizes before it answers can undo a change that
// would not fit, and tell the user, instead of finding out after the
// response (when Commit refuses to save, and the change is lost).
func ExampleSession_CookieSizes() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys()})
	if err != nil {
		log.Fatal(err)
	}
	addNote := func(s *cookiesession.Session, note string) error {
		notes, _, err := cookiesession.Get[[]string](s, "notes")
		if err != nil {
			return err
		}
		if err := s.Set("notes", append(notes, note)); err != nil {
			return err
		}
		if _, err := s.CookieSizes(); err != nil {
			_ = s.Set("notes", notes) // undo: the session stays as it was
			return err
		}
		return nil
	}

	s := sessions.Load(context.Background())
	fmt.Println(addNote(s, "buy milk"))
	sizes, _ := s.CookieSizes()
	fmt.Println(len(sizes), "cookie of", sizes[0] <= 4096, "bytes or fewer")

	err = addNote(s, strings.Repeat("a very long note ", 200))
	var tl *cookiesession.TooLargeError
	if errors.As(err, &tl) {
		fmt.Printf("refused: %s exceeded; largest part %q\n", tl.Setting, tl.Largest[0].Name)
	}
	notes, _, _ := cookiesession.Get[[]string](s, "notes")
	fmt.Println(notes)
	// Output:
	// <nil>
	// 1 cookie of true bytes or fewer
	// refused: MaxCookieSize exceeded; largest part "notes"
	// [buy milk]
}

// With Config.MaxChunks, a session too large for one cookie is split across
// several, named after the session cookie; the same response expires the
// chunk names it does not use (here the third), so none is left over.
func ExampleConfig_maxChunks() {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: exampleKeys(), MaxChunks: 3})
	if err != nil {
		log.Fatal(err)
	}
	s := sessions.Load(context.Background())
	_ = s.Set("profile", strings.Repeat("x", 4000))
	h := http.Header{}
	if err := sessions.Commit(s, http.StatusOK, h); err != nil {
		log.Fatal(err)
	}
	for _, line := range h.Values("Set-Cookie") {
		c, _ := http.ParseSetCookie(line)
		fmt.Println(c.Name, c.MaxAge > 0)
	}
	// Output:
	// __Host-sessionid true
	// __Host-sessionid.1 true
	// __Host-sessionid.2 false
}

// Stats counts, per key and per reason, what a Manager did with cookies:
// an operator retires an old key once it opens nothing more, and watches
// refusals for attacks or a bad deploy. Publish it with expvar, or read it
// into a metrics system.
func ExampleManager_Stats() {
	keys := exampleKeys()
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	// A login, then a request with its cookie, then one with junk.
	s := sessions.Load(context.Background())
	if err := s.Set("user", "ann"); err != nil {
		log.Fatal(err)
	}
	h := http.Header{}
	if err := sessions.Commit(s, http.StatusOK, h); err != nil {
		log.Fatal(err)
	}
	cookie, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	_ = sessions.Load(context.Background(), cookie).Len()
	_ = sessions.Load(context.Background(), sessions.Name()+"=junk").Len()

	stats := sessions.Stats()
	k := stats.Keys[keys.Primary().ID().String()]
	fmt.Printf("sealed %d, opened %d, rejected as malformed %d\n", k.Sealed, k.Opened, stats.Rejected["malformed"])
	// Output: sealed 1, opened 1, rejected as malformed 1
}
