package cookiesession

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// contextKey keys the sessions of a context.
type contextKey struct{}

// request is what Handler allocates for a request, in one allocation: the
// session's state, the ResponseWriter passed down, and the context that
// carries them. The context is the ctx field, not the whole struct: fmt
// prints a pointer's fields when it cannot call its methods (a bad verb, a
// context held in an unexported field), and the fields of ctx are the
// request's own context and a pointer, which fmt prints as an address, so
// printing the context never shows the cookies the state holds. A chain
// with two Managers (two cookies) nests two of them, and reaches both.
type request struct {
	st    state
	w     responseWriter
	s     Session
	bound sync.Once // binds s on first use: most requests never ask
	ctx   requestContext
}

// requestContext is a request's context.
type requestContext struct {
	context.Context          // the request's context, as Handler received it
	r               *request // this request: a pointer, printed as an address
}

// Value returns the request for contextKey{}, and defers every other key
// to the request's own context.
func (c *requestContext) Value(key any) any {
	if key == (contextKey{}) {
		return c.r
	}
	return c.Context.Value(key)
}

// String describes the context as context.WithValue's contexts describe
// a value that is not a Stringer.
func (c *requestContext) String() string {
	parent := fmt.Sprintf("%T", c.Context)
	if s, ok := c.Context.(fmt.Stringer); ok {
		parent = s.String()
	}
	return parent + ".WithValue(cookiesession.contextKey, *cookiesession.Session)"
}

// Format writes String for every verb and flag.
func (c *requestContext) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// session returns the Session of r, the same one on every call.
func (r *request) session() *Session {
	r.bound.Do(r.bind)
	return &r.s
}

func (r *request) bind() { r.s.bind(&r.st) }

// requestOf returns the innermost request in ctx, or nil.
func requestOf(ctx context.Context) *request {
	r, _ := ctx.Value(contextKey{}).(*request)
	return r
}

// FromContext returns the session that the innermost [Manager.Handler] put
// in ctx. Outside Handler it returns nil, false; the methods of that nil
// *Session return [ErrNoSession] rather than panic. With several Managers
// in one chain, use [Manager.FromContext].
func FromContext(ctx context.Context) (*Session, bool) {
	r := requestOf(ctx)
	if r == nil {
		return nil, false
	}
	return r.session(), true
}

// FromContext returns the session of m that m's Handler put in ctx,
// whatever other Managers' Handlers wrap the route.
func (m *Manager) FromContext(ctx context.Context) (*Session, bool) {
	for r := requestOf(ctx); r != nil; r = requestOf(r.ctx.Context) {
		if r.st.m == m {
			return r.session(), true
		}
	}
	return nil, false
}

// Handler returns middleware that gives every request a session, found with
// [FromContext], and commits it (see [Manager.Commit]) when the handler
// writes the status: at its first WriteHeader (of a final status, or 101
// Switching Protocols), Write or Flush, when it hijacks the connection, or
// when it returns without writing. Set-Cookie therefore goes out before the
// first byte of the body. A change to the session after that point cannot
// reach the client, and a first read of the request's session after that
// point personalises a response that does not vary on Cookie: both are
// logged as [ErrLate].
//
// The ResponseWriter passed down implements Flush, Hijack and Unwrap, so
// http.ResponseController, streaming, full-duplex and upgrading handlers
// keep working. Errors (rejected cookies, a session too large to send) go
// to Config.Logger; the request never fails because of its cookie.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := new(request)
		req.ctx = requestContext{Context: r.Context(), r: req}
		st := &req.st
		m.initState(st, r.Context(), r.Header["Cookie"])
		sw := &req.w
		sw.ResponseWriter, sw.m, sw.st = w, m, st
		next.ServeHTTP(sw, r.WithContext(&req.ctx))
		if !sw.committed {
			sw.commit(http.StatusOK)
		}
		st.mu.Lock()
		late, lateRead := st.gen != st.commitGen, st.lateAccess
		st.mu.Unlock()
		if late && !sw.reported {
			m.report(st.ctx, errLateChange, lateUse)
		}
		if lateRead && !late {
			m.report(st.ctx, errLateRead, lateUse)
		}
	})
}

// responseWriter commits the session before the status line goes out.
type responseWriter struct {
	http.ResponseWriter
	m         *Manager
	st        *state
	committed bool
	reported  bool // a late change was already reported
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
	_ interface {
		Unwrap() http.ResponseWriter
	} = (*responseWriter)(nil)
)

func (w *responseWriter) commit(status int) {
	w.committed = true
	if err := w.m.commit(w.st, status, headerWriter{w.ResponseWriter.Header()}); err != nil {
		w.m.report(w.st.ctx, err, notSaved)
	}
}

// WriteHeader commits the session on the first final status, or on 101
// Switching Protocols, after which no other response follows; 1xx
// informational responses such as 103 Early Hints pass through.
func (w *responseWriter) WriteHeader(status int) {
	if !w.committed && (status >= 200 || status == http.StatusSwitchingProtocols) {
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

// Hijack commits the session, then hands over the connection, as a
// WebSocket library does to write its own 101 response. If the session
// was changed (or flushed), the response is written by the hijacker,
// which does not send the Set-Cookie: that is logged as [ErrLate]. Change
// the session before the upgrade, on a response the handler writes
// itself, or after it over the new protocol. If the underlying writer
// cannot hijack, Hijack returns http.ErrNotSupported.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.committed {
		w.committed = true
		hdr := w.ResponseWriter.Header()
		before := len(hdr["Set-Cookie"])
		err := w.m.commit(w.st, http.StatusSwitchingProtocols, headerWriter{hdr})
		ctx := w.st.ctx
		switch {
		case err != nil:
			w.m.report(ctx, err, notSaved)
		case len(hdr["Set-Cookie"]) > before && w.st.isModified():
			// A lost renewal or re-seal is redone by the next request; a
			// lost change or logout is not.
			w.reported = true
			w.m.report(ctx, errHijacked, lateUse)
		}
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Format describes the writer, for every verb and flag, as the writer
// Handler passed down: fmt reaches a pointer's fields when a verb does not
// fit, and through them the session's state.
func (w *responseWriter) Format(f fmt.State, _ rune) {
	io.WriteString(f, "cookiesession.Handler's ResponseWriter")
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// What the middleware logs as ErrLate.
var (
	errLateChange = fmt.Errorf("%w: the session changed after the response headers were written; the change is lost", ErrLate)
	errLateRead   = fmt.Errorf("%w: the request's session was first read after the response headers were written without Vary: Cookie, so a shared cache may serve this personalised response to others; read it before writing the body", ErrLate)
	errHijacked   = fmt.Errorf("%w: the connection was hijacked, so the hijacker writes the response and the session's Set-Cookie is not sent; change the session before the upgrade on a response the handler writes, or after it", ErrLate)
)
