package cookiesession

// This file writes Set-Cookie lines. New validates the attributes once and
// splits the line net/http would write into its fixed parts; a save then
// only writes the value and the two times between them, byte for byte
// what http.Cookie.String gives for the same cookie.

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crumbhq/crumb/internal/format"
)

// lineParts are the fixed parts of the Set-Cookie lines of a Manager's
// cookies: for chunk i, head[i] ‖ value ‖ mid ‖ times ‖ tail, where times
// is "; Expires=…; Max-Age=…" or nothing for a browser-session cookie.
type lineParts struct {
	head    [format.MaxChunks]string // "name="
	mid     string                   // "; Path=/" and "; Domain=…"
	tail    string                   // "; HttpOnly; Secure; SameSite=Lax" and "; Partitioned"
	deleted [format.MaxChunks]string // the whole line that deletes chunk i
}

// lineParts splits the lines net/http writes for m's cookies into their
// fixed parts, so that the order and spelling of the attributes are
// net/http's.
func (m *Manager) lineParts() lineParts {
	var p lineParts
	for i := range p.head {
		p.head[i] = m.names[i] + "="
		p.deleted[i] = m.cookie(i, "", -1, time.Unix(0, 0)).String()
	}
	// Path and Domain come before Expires and Max-Age, the flags after.
	pathDomain := (&http.Cookie{Name: m.name, Path: m.cfg.Path, Domain: m.cfg.Domain}).String()
	p.mid = strings.TrimPrefix(pathDomain, p.head[0])
	p.tail = strings.TrimPrefix(m.cookie(0, "", 0, time.Time{}).String(), pathDomain)
	return p
}

// times is the part of a line between its Path or Domain and its flags:
// "; Expires=<date>; Max-Age=<seconds>", or empty for a browser-session
// cookie (maxAge 0).
type times struct {
	b [64]byte
	n int
}

// newTimes returns the times of a cookie with Max-Age maxAge and
// Expires expires.
func newTimes(maxAge int, expires time.Time) times {
	var t times
	if maxAge <= 0 {
		return t
	}
	b := append(t.b[:0], "; Expires="...)
	b = appendHTTPDate(b, expires)
	b = append(b, "; Max-Age="...)
	b = strconv.AppendInt(b, int64(maxAge), 10)
	t.n = len(b)
	return t
}

func (t *times) bytes() []byte { return t.b[:t.n] }

// appendHTTPDate appends t in http.TimeFormat, to the second. Sessions
// sealed within one second share an Expires, so the last one formatted
// is kept and copied.
func appendHTTPDate(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return append(b, d.text[:d.n]...)
	}
	d := &httpDate{sec: sec}
	d.n = len(t.UTC().AppendFormat(d.text[:0], http.TimeFormat))
	lastDate.Store(d)
	return append(b, d.text[:d.n]...)
}

// httpDate is a second formatted in http.TimeFormat.
type httpDate struct {
	sec  int64
	text [32]byte
	n    int
}

var lastDate atomic.Pointer[httpDate]

// lineLen is the length of the line of chunk i with a value of n
// characters.
func (m *Manager) lineLen(i, n int, t *times) int {
	return len(m.lines.head[i]) + n + len(m.lines.mid) + t.n + len(m.lines.tail)
}

// line returns the Set-Cookie line of chunk i with value, in one
// allocation.
func (m *Manager) line(i int, value []byte, t *times) string {
	var b strings.Builder
	b.Grow(m.lineLen(i, len(value), t))
	b.WriteString(m.lines.head[i])
	b.Write(value)
	b.WriteString(m.lines.mid)
	b.Write(t.bytes())
	b.WriteString(m.lines.tail)
	return b.String()
}
