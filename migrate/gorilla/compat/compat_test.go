package compat

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/migrate"
	"github.com/crumbhq/crumb/rotation"

	"github.com/crumbhq/crumb/migrate/gorilla"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

var (
	hashKey  = securecookie.GenerateRandomKey(32)
	blockKey = securecookie.GenerateRandomKey(32)
)

// TestSecurecookie: values made by securecookie, with and without a block
// key, in gob and JSON, read back by crumb's reader; tampered, expired and
// wrong-key ones refused.
func TestSecurecookie(t *testing.T) {
	t.Parallel()
	data := map[string]any{"user_id": "42", "name": "ann", "visits": 7}
	for _, tc := range []struct {
		name  string
		block []byte
		json  bool
	}{
		{"gob", nil, false},
		{"gob, encrypted", blockKey, false},
		{"json", nil, true},
		{"json, encrypted", blockKey, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := securecookie.New(hashKey, tc.block)
			if tc.json {
				sc.SetSerializer(securecookie.JSONEncoder{})
			}
			var value string
			var err error
			if tc.json {
				value, err = sc.Encode("session", data)
			} else {
				gobData := map[any]any{}
				for k, v := range data {
					gobData[k] = v
				}
				value, err = sc.Encode("session", gobData)
			}
			if err != nil {
				t.Fatal(err)
			}
			r := &gorilla.Reader{CookieName: "session", HashKey: hashKey, BlockKey: tc.block, JSON: tc.json}
			got, err := r.Open(value, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got["user_id"] != "42" || got["name"] != "ann" || fmt.Sprint(got["visits"]) != "7" {
				t.Errorf("read %v, want %v", got, data)
			}
			for name, c := range map[string]struct {
				r     *gorilla.Reader
				value string
				now   time.Time
				want  error
			}{
				"tampered":   {r, value[:10] + flip(value[10]) + value[11:], time.Now(), gorilla.ErrMAC},
				"expired":    {r, value, time.Now().Add(31 * 24 * time.Hour), gorilla.ErrExpired},
				"wrong key":  {&gorilla.Reader{CookieName: "session", HashKey: securecookie.GenerateRandomKey(32), BlockKey: tc.block, JSON: tc.json}, value, time.Now(), gorilla.ErrMAC},
				"other name": {&gorilla.Reader{CookieName: "other", HashKey: hashKey, BlockKey: tc.block, JSON: tc.json}, value, time.Now(), gorilla.ErrMAC},
			} {
				if got, err := c.r.Open(c.value, c.now); !errors.Is(err, c.want) || got != nil {
					t.Errorf("%s: %v, %v; want %v", name, got, err, c.want)
				}
			}
			for i := range len(value) {
				if _, err := r.Open(value[:i], time.Now()); err == nil {
					t.Fatalf("the first %d characters opened", i)
				}
			}
		})
	}
}

// TestSessionsCookieStore: a gorilla/sessions CookieStore session, as its
// README makes one, read by crumb's reader.
func TestSessionsCookieStore(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey, blockKey)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	s, err := store.Get(req, "session-name")
	if err != nil {
		t.Fatal(err)
	}
	s.Values["user_id"] = 42
	s.Values["cart"] = []string{"tea", "cake"}
	if err := s.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	r := &gorilla.Reader{CookieName: "session-name", HashKey: hashKey, BlockKey: blockKey}
	got, err := r.Open(c.Value, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cart, _ := got["cart"].([]string)
	if got["user_id"] != 42 || len(cart) != 2 || cart[1] != "cake" {
		t.Errorf("read %#v", got)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestMigrationFromGorilla: a user logged in with gorilla/sessions keeps
// the session when the site moves to crumb: the first request gets a
// crumb cookie made from the gorilla one, and the gorilla cookie deleted.
func TestMigrationFromGorilla(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(hashKey, blockKey)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	old, _ := store.Get(req, "session-name")
	old.Values["user_id"] = "ann"
	if err := old.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	legacyCookie := rec.Result().Cookies()[0]

	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	crumb, err := cookiesession.New(cookiesession.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	legacy := &gorilla.Reader{CookieName: "session-name", HashKey: hashKey, BlockKey: blockKey}
	mapUser := func(old map[string]any, s *cookiesession.Session) error {
		id, _ := old["user_id"].(string)
		return s.SetSubject(id)
	}
	h := crumb.Handler(migrate.Handler(migrate.Config{Sessions: crumb, Legacy: legacy, Map: mapUser},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := crumb.FromContext(r.Context())
			fmt.Fprint(w, s.Subject())
		})))
	serve := func(cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := serve(legacyCookie.Name + "=" + legacyCookie.Value)
	var crumbValue string
	deleted := false
	for _, c := range first.Result().Cookies() {
		switch c.Name {
		case crumb.Name():
			crumbValue = c.Value
		case "session-name":
			deleted = c.MaxAge < 0
		}
	}
	if first.Body.String() != "ann" || crumbValue == "" || !deleted {
		t.Fatalf("first request: %q, Set-Cookie %v", first.Body.String(), first.Result().Header.Values("Set-Cookie"))
	}
	if next := serve(crumb.Name() + "=" + crumbValue); next.Body.String() != "ann" {
		t.Errorf("with the crumb cookie alone: %q", next.Body.String())
	}
}
