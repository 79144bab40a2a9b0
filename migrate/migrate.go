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
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/internal/jsonnum"
)

// ErrRefused is matched by the errors a Reader returns for a cookie that
// can never be valid (forged, expired, undecodable): Handler deletes such
// a cookie. Any other error (a Reader without its keys) leaves the cookie
// alone.
var ErrRefused = errors.New("migrate: old session cookie refused")

// A Reader reads the session cookies of the system a site moves from.
type Reader interface {
	// Name is the old session cookie's name.
	Name() string
	// Open checks a cookie value (its signature, its age) and returns the
	// session data it holds, or an error, matching ErrRefused for a cookie
	// to refuse.
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
// into its crumb session when the request carries no crumb session cookie
// at all, and deletes the old cookie in a response that saved the crumb
// session (or that refused the old cookie as forged, expired or
// undecodable). A request that carries a crumb cookie, even one this
// instance cannot open (a key it lacks, a Revoker outage), is left to
// crumb, and keeps its old cookie unless its crumb session opened.
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
		d := &deleter{ResponseWriter: w, sessions: cfg.Sessions, s: s, name: cfg.Sessions.Name(),
			cookie: (&http.Cookie{Name: old.Name, Path: cfg.Path, Domain: cfg.Domain, MaxAge: -1}).String()}
		if _, err := r.Cookie(cfg.Sessions.Name()); err == nil {
			// A crumb cookie: crumb's business. The old cookie goes once the
			// crumb session is known good.
			d.deleteIf = func() bool { return s.ID() != "" }
		} else if data, err := cfg.Legacy.Open(old.Value, cfg.Clock()); err == nil {
			if err := cfg.Map(data, s); err == nil && s.CycleKey() == nil {
				d.deleteIf = d.saved // only once the new session is in the response
			} else {
				s.Clear()
			}
		} else if errors.Is(err, ErrRefused) {
			d.deleteIf = func() bool { return true } // dead everywhere
		}
		next.ServeHTTP(d, r)
		if !d.decided {
			d.decide(http.StatusOK) // crumb would commit after this returns, as for a 200
		}
	})
}

// storeAll stores every key of an old session as it is.
func storeAll(old map[string]any, s *cookiesession.Session) error {
	for k, v := range old {
		if err := s.Set(k, jsonnum.Convert(v)); err != nil {
			return err
		}
	}
	return nil
}

// deleter adds the old cookie's deletion to the response, when deleteIf
// says so at the moment the status is written. For a migrated session it
// commits the session first, so that the deletion goes out only with a
// saved session.
type deleter struct {
	http.ResponseWriter
	sessions *cookiesession.Manager
	s        *cookiesession.Session
	name     string
	cookie   string
	deleteIf func() bool // nil: keep the old cookie
	decided  bool
	status   int
}

func (d *deleter) decide(status int) {
	d.decided, d.status = true, status
	if d.deleteIf != nil && d.deleteIf() {
		d.Header().Add("Set-Cookie", d.cookie)
	}
}

// saved commits the migrated session now, with the response's status, and
// reports whether the response carries it. crumb's own commit, later,
// then has nothing left to do.
func (d *deleter) saved() bool {
	if d.sessions.Commit(d.s, d.status, d.Header()) != nil {
		return false // too large, no keys: not saved, so the old cookie stays
	}
	for _, line := range d.Header().Values("Set-Cookie") {
		if strings.HasPrefix(line, d.name+"=") && !strings.HasPrefix(line, d.name+"=;") {
			return true
		}
	}
	return false
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
