// Command basic is a small web application on crumb sessions: log in and
// out, a cart, flash messages, and a page that shows what the session holds.
//
//	go run ./examples/basic
//
// then open http://127.0.0.1:8080. With no configuration it makes a
// throwaway key (sessions end when it stops) and says so. To keep sessions
// across restarts, give it keys in the CRUMB_KEYS environment variable:
//
//	export CRUMB_KEYS="$(go run ./examples/basic -genkey)"
//	go run ./examples/basic
//
// Browsers treat http://127.0.0.1 as a secure origin, so the session cookie
// keeps crumb's secure defaults (__Host- prefix, Secure, HttpOnly,
// SameSite=Lax) even without TLS.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	genkey := flag.Bool("genkey", false, "print a new key list for CRUMB_KEYS and exit")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	if *genkey {
		// The one place the example prints a secret: on request, to
		// stdout, for the operator to store.
		k, err := crypto.GenerateKey()
		if err != nil {
			fail(logger, err)
		}
		fmt.Println("primary " + k.SecretText())
		return
	}

	keys, err := loadKeys(logger)
	if err != nil {
		fail(logger, err)
	}
	app, err := newApp(keys, logger, time.Now)
	if err != nil {
		fail(logger, err)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("listening", "url", "http://"+*addr)
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
	logger.Error("basic", "error", err)
	os.Exit(1)
}
