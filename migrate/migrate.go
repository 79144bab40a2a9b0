// Package migrate moves a site's users from another session system to
// crumb without logging them out: for a transition period, a request that
// carries the old system's session cookie and no crumb session gets a
// crumb session made from the old one, sealed in the response, and the old
// cookie is deleted. Readers are in migrate/django (Django's signed
// cookies) and migrate/gorilla (gorilla/securecookie and gorilla/sessions).
//
// Mount Handler inside the crumb Manager's Handler:
//
//	legacy := &django.Reader{SecretKey: os.Getenv("DJANGO_SECRET_KEY")}
//	h := sessions.Handler(migrate.Handler(migrate.Config{Sessions: sessions, Legacy: legacy, Map: mapUser}, mux))
//
// The old cookie is deleted only by a response that saves the new session
// (a status below 500), so a failed request never leaves a user with
// neither.
package migrate

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
)

// A Reader reads the session cookies of the system a site moves from.
type Reader interface {
	// Name is the old session cookie's name.
	Name() string
	// Open checks a cookie value (its signature, its age) and returns the
	// session data it holds, or an error for a cookie to refuse.
	Open(value string, now time.Time) (map[string]any, error)
}

// Config configures Handler.
type Config struct {
	// Sessions is the Manager whose Handler Handler is mounted inside.
	Sessions *cookiesession.Manager
	// Legacy reads the old cookies.
	Legacy Reader
	// Map stores what the application needs of an old session in the
	// new one, such as the user ID as its subject. Default: every key
	// stored as it is, JSON numbers as integers where they are.
	Map func(old map[string]any, s *cookiesession.Session) error
	// Path and Domain are the old cookie's, for deleting it. Default "/"
	// and none.
	Path, Domain string
	// Clock gives the time the old cookie's age is checked at. Default
	// time.Now.
	Clock func() time.Time
}

// Handler returns middleware that turns a request's old session cookie
// into its crumb session when it has no crumb session, and deletes the
// old cookie in a response that saves the new session. A refused old
// cookie (forged, expired) is deleted too.
func Handler(cfg Config, next http.Handler) http.Handler {
	if cfg.Map == nil {
		cfg.Map = storeAll
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		old, err := r.Cookie(cfg.Legacy.Name())
		s, ok := cfg.Sessions.FromContext(r.Context())
		if err != nil || !ok {
			next.ServeHTTP(w, r)
			return
		}
		if s.ID() == "" && s.Len() == 0 { // no crumb session yet
			if data, err := cfg.Legacy.Open(old.Value, cfg.Clock()); err == nil {
				if err := cfg.Map(data, s); err != nil {
					s.Clear()
				} else if err := s.CycleKey(); err != nil {
					s.Clear()
				}
			}
		}
		dw := &deleter{ResponseWriter: w, cookie: (&http.Cookie{Name: old.Name, Path: cfg.Path, Domain: cfg.Domain, MaxAge: -1}).String()}
		next.ServeHTTP(dw, r)
		if !dw.decided {
			dw.decide(http.StatusOK) // crumb commits after this returns, as for a 200
		}
	})
}

// storeAll stores every key of an old session as it is.
func storeAll(old map[string]any, s *cookiesession.Session) error {
	for k, v := range old {
		if err := s.Set(k, numbers(v)); err != nil {
			return err
		}
	}
	return nil
}

// numbers turns JSON numbers into int64 or float64.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	}
	return v
}

// deleter adds the old cookie's deletion to a response whose status saves
// the session.
type deleter struct {
	http.ResponseWriter
	cookie  string
	decided bool
}

func (d *deleter) decide(status int) {
	d.decided = true
	if status < 500 {
		d.Header().Add("Set-Cookie", d.cookie)
	}
}

func (d *deleter) WriteHeader(status int) {
	if !d.decided && status >= 200 {
		d.decide(status)
	}
	d.ResponseWriter.WriteHeader(status)
}

func (d *deleter) Write(b []byte) (int, error) {
	if !d.decided {
		d.decide(http.StatusOK)
	}
	return d.ResponseWriter.Write(b)
}

// Flush decides as for a 200, then flushes.
func (d *deleter) Flush() { _ = d.FlushError() }

// FlushError is Flush for http.ResponseController.
func (d *deleter) FlushError() error {
	if !d.decided {
		d.decide(http.StatusOK)
	}
	return http.NewResponseController(d.ResponseWriter).Flush()
}

// Unwrap returns the writer below, for http.ResponseController.
func (d *deleter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
