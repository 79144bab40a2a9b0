// Command echo shows crumb's sessions in an Echo (github.com/labstack/echo)
// application, mounted as Echo middleware with e.Use, so that a handler
// that fails through Echo's own error path saves nothing:
//
//	go run ./examples/echo
//	curl -c jar -b jar http://127.0.0.1:8082/visits          {"visits":1}
//	curl -c jar -b jar -X POST http://127.0.0.1:8082/fail    500, and no cookie
//	curl -c jar -b jar http://127.0.0.1:8082/visits          {"visits":2}
//
// Echo handlers return errors, which Echo's HTTPErrorHandler turns into a
// response after the handler returns. Wrapping crumb's net/http middleware
// with echo.WrapMiddleware lets crumb commit before that, while the status
// still looks like 200: a handler that changed the session and then
// returned a 500 error would save its change. Sessions, below, passes
// crumb's ResponseWriter to Echo and runs the error handler inside crumb's
// middleware, so that the session is committed when the error response's
// status is written, and a 5xx saves nothing (a 4xx does, as Django saves
// on any status below 500).
//
// Keys come from CRUMB_KEYS ("go run ./cmd/crumb keygen -env" prints a key
// list). Without it the server makes a throwaway key, and says so.
package main

import (
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Sessions is crumb's session middleware for Echo: mount it with e.Use
// (or on a group), and read the session in handlers with
// cookiesession.FromContext(c.Request().Context()).
func Sessions(m *cookiesession.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			res := c.Response()
			outer := res.Writer
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Echo writes through crumb's writer, which commits the
				// session when the status goes out.
				res.Writer = w
				c.SetRequest(r)
				if err = next(c); err != nil {
					// The error response is written now, inside crumb's
					// middleware: its status decides whether the session
					// is saved. Echo's error handler leaves a committed
					// response alone, so it does not run twice when the
					// error is returned below.
					c.Error(err)
				}
			})).ServeHTTP(outer, c.Request())
			res.Writer = outer
			return err // for the middleware outside, such as a logger
		}
	}
}

// newApp returns the example application.
func newApp(keys rotation.Source, logger *slog.Logger, now func() time.Time) (*echo.Echo, error) {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Logger: logger, Clock: now})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())
	e.Use(Sessions(sessions))

	// count adds one to the session's counter.
	count := func(c echo.Context) (int, error) {
		s, _ := cookiesession.FromContext(c.Request().Context())
		n, _, err := cookiesession.Get[int](s, "visits")
		if err != nil {
			return 0, err
		}
		n++
		return n, s.Set("visits", n)
	}
	e.GET("/visits", func(c echo.Context) error {
		n, err := count(c)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]int{"visits": n})
	})
	// A handler that changes the session, then fails.
	e.POST("/fail", func(c echo.Context) error {
		if _, err := count(c); err != nil {
			return err
		}
		return echo.NewHTTPError(http.StatusInternalServerError, "the database is down")
	})
	e.POST("/fail-plain", func(c echo.Context) error {
		if _, err := count(c); err != nil {
			return err
		}
		return errors.New("an error Echo turns into a 500")
	})
	e.POST("/panic", func(c echo.Context) error {
		if _, err := count(c); err != nil {
			return err
		}
		panic("a bug: Recover answers 500")
	})
	// A client error: the change is saved, as on any status below 500.
	e.POST("/bad", func(c echo.Context) error {
		if _, err := count(c); err != nil {
			return err
		}
		return echo.NewHTTPError(http.StatusBadRequest, "bad input, visit counted")
	})
	return e, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	keys, err := loadKeys(logger)
	if err != nil {
		logger.Error("crumb example", "error", err)
		os.Exit(1)
	}
	e, err := newApp(keys, logger, time.Now)
	if err != nil {
		logger.Error("crumb example", "error", err)
		os.Exit(1)
	}
	logger.Info("listening", "url", "http://"+*addr+"/visits")
	srv := &http.Server{Addr: *addr, Handler: e, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("crumb example", "error", err)
		os.Exit(1)
	}
}

// loadKeys reads CRUMB_KEYS, or makes a throwaway key.
func loadKeys(logger *slog.Logger) (*rotation.Keyring, error) {
	keys, err := rotation.FromEnv("CRUMB_KEYS")
	if !errors.Is(err, rotation.ErrNoKeys) {
		return keys, err
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	logger.Warn("CRUMB_KEYS is not set: using a throwaway key; sessions end when the server stops")
	return rotation.NewKeyring(k)
}
