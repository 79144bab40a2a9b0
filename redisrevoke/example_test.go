package redisrevoke_test

import (
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/redisrevoke"
	"github.com/crumbhq/crumb/rotation"
	"github.com/redis/go-redis/v9"
)

// A Revoker shared by every instance, with a client that rides out a
// restart of Redis, and the two ways out: logging out (one session) and
// logging out everywhere (every session of the user), in the order that
// survives a crash between its steps.
func Example() {
	keys, err := rotation.FromEnv("CRUMB_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	revoker, err := redisrevoke.New(redisrevoke.Config{
		Client: redis.NewClient(&redis.Options{
			Addr:                  "127.0.0.1:6379",
			ContextTimeoutEnabled: true, // Config.Timeout bounds each call
			// Short attempts, no retries of the client's own (the Revoker
			// retries what another attempt can mend, within Timeout), and
			// a connection for every request in flight: a restart of Redis
			// then only slows the requests that meet it.
			DialTimeout:   250 * time.Millisecond,
			ReadTimeout:   250 * time.Millisecond,
			WriteTimeout:  250 * time.Millisecond,
			MaxRetries:    -1,
			DialerRetries: 1,
			PoolSize:      256,
		}),
		MaxLifetime: 8 * time.Hour,
		Timeout:     2 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Revoker: revoker, AbsoluteLifetime: 8 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	clock := time.Now // the Manager's Config.Clock

	mux := http.NewServeMux()
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if err := s.Flush(); err != nil {
			// The browser's cookie is deleted, but the deny entry was
			// not written: a copy of the cookie would still open.
			http.Error(w, "logged out here; try again to end the session everywhere", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("logged out"))
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		user, ok, _ := cookiesession.Get[string](s, "user")
		if err := s.Err(); err != nil || !ok {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		// Cut off first, this session included, then start a new one
		// for this device, issued after the cut-off when it is saved.
		if err := revoker.RevokeSubject(r.Context(), user, clock()); err != nil {
			http.Error(w, "could not log out everywhere, try again", http.StatusServiceUnavailable)
			return
		}
		// Flush's own deny entry is redundant after the cut-off, so its
		// failure changes nothing; then this device's new session.
		_ = s.Flush()
		if err := errors.Join(s.SetSubject(user), s.Set("user", user)); err != nil {
			http.Error(w, "logged out everywhere; please log in again", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("every other session of yours has ended"))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(mux)))
}
