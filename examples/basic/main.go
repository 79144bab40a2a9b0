// Command basic is a small web application on crumb sessions: log in and
// out, a cart, flash messages, a key rotation button and a page that shows
// what the session holds and how large its cookie is.
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
// Flags, each also read from the environment variable in brackets (a flag
// wins), set the session timings, so that expiry can be tried without
// editing code:
//
//	-addr          [CRUMB_ADDR]             listen address (default 127.0.0.1:8080; port 0 picks one)
//	-lifetime      [CRUMB_LIFETIME]         idle timeout (default 30m)
//	-renew-after   [CRUMB_RENEW_AFTER]      re-seal an active session this often (default a third of -lifetime)
//	-absolute      [CRUMB_ABSOLUTE]         log in again at least this often (default 8h)
//	-chunks        [CRUMB_CHUNKS]           cookies one session may span (default 1: no chunking; at most 10)
//	-max-header-bytes [CRUMB_MAX_HEADER_BYTES] request-header budget of the session's cookies (default 7168)
//
// For example, `go run ./examples/basic -lifetime 1m` ends a session after
// a minute without a request, and `-chunks 3` lets the cart outgrow one
// cookie.
//
// Once listening it prints "listening on http://HOST:PORT/" to standard
// output; logs go to standard error. Browsers treat http://127.0.0.1 as a
// secure origin, so the session cookie keeps crumb's secure defaults
// (__Host- prefix, Secure, HttpOnly, SameSite=Lax) even without TLS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "basic:", err)
		}
		os.Exit(1)
	}
}

// settings are the command's flags.
type settings struct {
	addr           string
	lifetime       time.Duration
	renewAfter     time.Duration // 0: a third of lifetime
	absolute       time.Duration
	chunks         int
	maxHeaderBytes int // 0: the library's default
	genkey         bool
}

// parseSettings reads the flags in args, with defaults from the
// environment (getenv).
func parseSettings(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	s := settings{addr: "127.0.0.1:8080", lifetime: 30 * time.Minute, absolute: 8 * time.Hour, chunks: 1}
	var errs []error
	envDuration := func(name string, d *time.Duration) {
		if v := getenv(name); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", name, err))
			}
		}
	}
	envInt := func(name string, n *int) {
		if v := getenv(name); v != "" {
			var err error
			if *n, err = strconv.Atoi(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", name, err))
			}
		}
	}
	if v := getenv("CRUMB_ADDR"); v != "" {
		s.addr = v
	}
	envDuration("CRUMB_LIFETIME", &s.lifetime)
	envDuration("CRUMB_RENEW_AFTER", &s.renewAfter)
	envDuration("CRUMB_ABSOLUTE", &s.absolute)
	envInt("CRUMB_CHUNKS", &s.chunks)
	envInt("CRUMB_MAX_HEADER_BYTES", &s.maxHeaderBytes)
	if err := errors.Join(errs...); err != nil {
		return s, err
	}

	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.addr, "addr", s.addr, "address to listen on; port 0 picks a free port [CRUMB_ADDR]")
	fs.DurationVar(&s.lifetime, "lifetime", s.lifetime, "idle timeout: a session ends this long after its last save [CRUMB_LIFETIME]")
	fs.DurationVar(&s.renewAfter, "renew-after", s.renewAfter, "re-seal an active session at most this often; 0 for a third of -lifetime [CRUMB_RENEW_AFTER]")
	fs.DurationVar(&s.absolute, "absolute", s.absolute, "absolute lifetime: log in again at least this often; 0 for none [CRUMB_ABSOLUTE]")
	fs.IntVar(&s.chunks, "chunks", s.chunks, "cookies one session may span: 1 for no chunking, at most 10 [CRUMB_CHUNKS]")
	fs.IntVar(&s.maxHeaderBytes, "max-header-bytes", s.maxHeaderBytes, "request-header budget of the session's cookies; 0 for the default 7168 [CRUMB_MAX_HEADER_BYTES]")
	fs.BoolVar(&s.genkey, "genkey", false, "print a new key list for CRUMB_KEYS and exit")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if s.renewAfter == 0 {
		s.renewAfter = s.lifetime / 3
	}
	return s, nil
}

// run is the command: it serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	set, err := parseSettings(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if set.genkey {
		// The one place the example prints a secret: on request, to
		// stdout, for the operator to store.
		k, err := crypto.GenerateKey()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, "primary "+k.SecretText())
		return err
	}
	ring, err := loadKeys(getenv, logger)
	if err != nil {
		return err
	}
	handler, err := newApp(rotation.NewHolder(ring), set, logger, time.Now)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", set.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if _, err := fmt.Fprintf(stdout, "listening on http://%s/\n", ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// loadKeys reads CRUMB_KEYS, or makes a throwaway key when it is unset.
func loadKeys(getenv func(string) string, logger *slog.Logger) (*rotation.Keyring, error) {
	if text := getenv("CRUMB_KEYS"); text != "" {
		keys, err := rotation.ParseKeys("CRUMB_KEYS", text)
		if err != nil {
			return nil, err
		}
		logger.Info("keys loaded from CRUMB_KEYS", "primary_key_id", keys.Primary().ID().String(), "keys", len(keys.Entries()))
		return keys, nil
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	logger.Warn("CRUMB_KEYS is not set: using a throwaway key, so sessions end when this process stops",
		"key_id", k.ID().String(),
		"to_keep_sessions", `export CRUMB_KEYS="$(go run ./examples/basic -genkey)"`)
	return rotation.NewKeyring(k)
}
