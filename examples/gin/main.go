// Command gin shows crumb's sessions in a Gin (github.com/gin-gonic/gin)
// application, mounted as Gin middleware with r.Use, so that a handler
// that fails through Gin's own path (c.AbortWithStatus, c.AbortWithError,
// a panic caught by gin.Recovery) saves nothing:
//
//	go run ./examples/gin
//	curl -c jar -b jar http://127.0.0.1:8083/visits          {"visits":1}
//	curl -c jar -b jar -X POST http://127.0.0.1:8083/fail    500, and no cookie
//	curl -c jar -b jar http://127.0.0.1:8083/visits          {"visits":2}
//
// Gin writes the status line late, when the body is first written or at
// the end of the request, through its own ResponseWriter. Sessions, below,
// gives the handlers a ResponseWriter that sends that status through
// crumb's writer, so that the session is committed with the status the
// client gets: a 5xx saves nothing (a 4xx does, as Django saves on any
// status below 500).
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
	"github.com/gin-gonic/gin"
)

// Sessions is crumb's session middleware for Gin: mount it with r.Use (or
// on a group), and read the session in handlers with
// cookiesession.FromContext(c.Request.Context()).
func Sessions(m *cookiesession.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		outer := c.Writer
		defer func() { c.Writer = outer }()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request = r
			sw := &writer{ResponseWriter: outer, crumb: w}
			c.Writer = sw
			c.Next()
			// Gin would write a status set without a body (c.Status)
			// after the middleware returns, past crumb: send it now.
			sw.WriteHeaderNow()
		})).ServeHTTP(outer, c.Request)
	}
}

// writer is Gin's ResponseWriter, with the status line sent through
// crumb's, which commits the session first.
type writer struct {
	gin.ResponseWriter                     // Gin's: it keeps the status and the size
	crumb              http.ResponseWriter // crumb's, wrapping Gin's
}

// WriteHeaderNow sends the status Gin holds, through crumb's writer.
func (w *writer) WriteHeaderNow() {
	if !w.Written() {
		w.crumb.WriteHeader(w.Status()) // commits, then hands the status to Gin's writer
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *writer) Write(b []byte) (int, error) {
	w.WriteHeaderNow()
	return w.ResponseWriter.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	w.WriteHeaderNow()
	return w.ResponseWriter.WriteString(s)
}

func (w *writer) Flush() {
	w.WriteHeaderNow()
	w.ResponseWriter.Flush()
}

// newApp returns the example application.
func newApp(keys rotation.Source, logger *slog.Logger, now func() time.Time) (*gin.Engine, error) {
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Logger: logger, Clock: now})
	if err != nil {
		return nil, err
	}
	r := gin.New()
	r.Use(gin.Recovery(), Sessions(sessions))

	// count adds one to the session's counter.
	count := func(c *gin.Context) (int, bool) {
		s, _ := cookiesession.FromContext(c.Request.Context())
		n, _, err := cookiesession.Get[int](s, "visits")
		if err == nil {
			n++
			err = s.Set("visits", n)
		}
		if err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return 0, false
		}
		return n, true
	}
	r.GET("/visits", func(c *gin.Context) {
		if n, ok := count(c); ok {
			c.JSON(http.StatusOK, gin.H{"visits": n})
		}
	})
	// Handlers that change the session, then fail in Gin's ways.
	r.POST("/fail", func(c *gin.Context) {
		if _, ok := count(c); ok {
			c.AbortWithStatus(http.StatusInternalServerError)
		}
	})
	r.POST("/fail-error", func(c *gin.Context) {
		if _, ok := count(c); ok {
			c.AbortWithError(http.StatusServiceUnavailable, errors.New("the database is down"))
		}
	})
	r.POST("/fail-status", func(c *gin.Context) {
		if _, ok := count(c); ok {
			c.Status(http.StatusInternalServerError) // no body: Gin writes the status at the end
		}
	})
	r.POST("/panic", func(c *gin.Context) {
		if _, ok := count(c); ok {
			panic("a bug: gin.Recovery answers 500")
		}
	})
	// A client error: the change is saved, as on any status below 500.
	r.POST("/bad", func(c *gin.Context) {
		if _, ok := count(c); ok {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": "bad input, visit counted"})
		}
	})
	return r, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	keys, err := loadKeys(logger)
	if err != nil {
		logger.Error("crumb example", "error", err)
		os.Exit(1)
	}
	r, err := newApp(keys, logger, time.Now)
	if err != nil {
		logger.Error("crumb example", "error", err)
		os.Exit(1)
	}
	logger.Info("listening", "url", "http://"+*addr+"/visits")
	srv := &http.Server{Addr: *addr, Handler: r, ReadHeaderTimeout: 10 * time.Second}
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
