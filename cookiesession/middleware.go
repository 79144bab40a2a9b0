package cookiesession

import (
	"context"
	"net/http"
)

type contextKey struct{}

// NewContext returns a copy of ctx carrying s, for code that loads sessions
// itself and passes them down.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, contextKey{}, s)
}

// FromContext returns the session that [Manager.Handler] (or NewContext)
// put in ctx. It returns nil, false when there is none: the route is not
// wrapped by Handler.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(contextKey{}).(*Session)
	return s, ok && s != nil
}

// Handler returns middleware that gives every request a session, found with
// [FromContext], and commits it (see [Manager.Commit]) when the handler
// writes the status: at its first WriteHeader, Write or Flush, or when it
// returns without writing. Set-Cookie therefore goes out before the first
// byte of the body; a change to the session after that point cannot reach
// the client and is reported as [ErrLateChange].
//
// The ResponseWriter passed down implements Flush and Unwrap, so
// http.ResponseController, streaming and full-duplex handlers keep
// working. Errors (rejected cookies, a session too large to send) go to
// Config.OnError and Config.Logger; the request never fails because of its
// cookie.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.LoadRequest(r)
		sw := &responseWriter{ResponseWriter: w, m: m, s: s}
		next.ServeHTTP(sw, r.WithContext(NewContext(r.Context(), s)))
		if !sw.committed {
			sw.commit(http.StatusOK)
		}
		s.mu.Lock()
		late := s.gen != s.commitGen
		s.mu.Unlock()
		if late {
			m.report(r.Context(), ErrLateChange, true)
		}
	})
}

// responseWriter commits the session before the status line goes out.
type responseWriter struct {
	http.ResponseWriter
	m         *Manager
	s         *Session
	committed bool
}

var (
	_ http.Flusher = (*responseWriter)(nil)
	_ interface {
		Unwrap() http.ResponseWriter
	} = (*responseWriter)(nil)
)

func (w *responseWriter) commit(status int) {
	w.committed = true
	h, err := w.m.Commit(w.s, status)
	MergeHeader(w.ResponseWriter.Header(), h)
	if err != nil {
		w.m.report(w.s.ctx, err, true)
	}
}

// WriteHeader commits the session on the first final status; 1xx
// informational responses pass through.
func (w *responseWriter) WriteHeader(status int) {
	if !w.committed && status >= 200 {
		w.commit(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.committed {
		w.commit(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush commits the session, then flushes the underlying writer if it can.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController, which prefers it: it
// reports http.ErrNotSupported if the underlying writer cannot flush.
func (w *responseWriter) FlushError() error {
	if !w.committed {
		w.commit(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
