// Command chi shows crumb's middleware in a go-chi router, beside chi's own
// middleware, route groups and URL parameters. The session counts visits
// per page:
//
//	go run ./examples/chi
//	curl -c jar -b jar http://127.0.0.1:8081/visits/home   {"page":"home","request_id":"…","visits":1}
//	curl -c jar -b jar http://127.0.0.1:8081/visits/home   {"page":"home","request_id":"…","visits":2}
//	curl -c jar -b jar http://127.0.0.1:8081/visits        {"home":2}
//	curl -c jar -b jar -X DELETE http://127.0.0.1:8081/visits
//
// Session middleware goes in r.Use like any other, innermost here:
// RequestID and Recoverer see every request first, and a handler that
// panics gets Recoverer's 500 with no session saved. Routes chi answers
// itself (404, 405) pass through the session middleware untouched, so
// they set no cookie.
//
// Keys come from CRUMB_KEYS ("go run ./examples/basic -genkey" prints a key
// list). Without it the server makes a throwaway key, so sessions end when
// it stops, and says so.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	keys, err := loadKeys(logger)
	if err != nil {
		fail(logger, err)
	}
	r, err := newRouter(keys, logger, time.Now)
	if err != nil {
		fail(logger, err)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("listening", "url", "http://"+*addr+"/visits/home")
	if err := srv.ListenAndServe(); err != nil {
		fail(logger, err)
	}
}

// loadKeys reads CRUMB_KEYS, or makes a throwaway key when it is unset.
func loadKeys(logger *slog.Logger) (rotation.Source, error) {
	keys, err := rotation.FromEnv("CRUMB_KEYS")
	if errors.Is(err, rotation.ErrNoKeys) {
		k, err := crypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		logger.Warn("CRUMB_KEYS is not set: using a throwaway key, so sessions end when this process stops",
			"key_id", k.ID().String(),
			"to_keep_sessions", `export CRUMB_KEYS="$(go run ./examples/basic -genkey)"`)
		return rotation.NewKeyring(k)
	}
	if err != nil {
		return nil, err
	}
	logger.Info("keys loaded from CRUMB_KEYS", "primary_key_id", keys.Primary().ID().String(), "keys", len(keys.Entries()))
	return keys, nil
}

func fail(logger *slog.Logger, err error) {
	logger.Error("chi", "error", err)
	os.Exit(1)
}

// maxPages bounds how many pages one session counts, so the cookie stays
// far below the 4 KiB a browser keeps.
const maxPages = 20

// newRouter returns the application: a chi router with crumb's middleware.
func newRouter(keys rotation.Source, logger *slog.Logger, now func() time.Time) (*chi.Mux, error) {
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:       keys,
		Lifetime:   30 * time.Minute, // idle timeout
		RenewAfter: 10 * time.Minute, // an active user's cookie is re-sealed at most every 10 minutes
		Logger:     logger,
		Clock:      now,
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer, sessions.Handler)
	r.Route("/visits", func(r chi.Router) {
		r.Get("/", listVisits)
		r.Delete("/", resetVisits)
		// chi matches the pattern; a page name it refuses is chi's 404.
		r.Get("/{page:[a-z0-9-]{1,32}}", visit)
	})
	return r, nil
}

// session returns the request's session. Every route is under
// sessions.Handler, so it is always there.
func session(r *http.Request) *cookiesession.Session {
	s, _ := cookiesession.FromContext(r.Context())
	return s
}

// Visits maps page names to visit counts.
type Visits map[string]int

func visit(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	page := chi.URLParam(r, "page")
	visits, _, err := cookiesession.Get[Visits](s, "visits")
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "bad session data"})
		return
	}
	if visits == nil {
		visits = Visits{}
	}
	if _, ok := visits[page]; !ok && len(visits) >= maxPages {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "too many pages in this session"})
		return
	}
	visits[page]++
	if err := s.Set("visits", visits); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot store visits"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"page":       page,
		"visits":     visits[page],
		"request_id": middleware.GetReqID(r.Context()),
	})
}

func listVisits(w http.ResponseWriter, r *http.Request) {
	visits, _, err := cookiesession.Get[Visits](session(r), "visits")
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "bad session data"})
		return
	}
	if visits == nil {
		visits = Visits{}
	}
	writeJSON(w, http.StatusOK, visits)
}

func resetVisits(w http.ResponseWriter, r *http.Request) {
	session(r).Delete("visits")
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is out; an encoding error can only be a closed connection.
	_ = json.NewEncoder(w).Encode(v)
}
