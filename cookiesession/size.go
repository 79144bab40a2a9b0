package cookiesession

// This file is the cookie size: what a session takes on the wire, the
// error when it does not fit, and chunking (Config.MaxChunks): splitting
// one sealed value across several cookies, reading it back, and expiring
// chunks that are no longer used. docs/FORMAT.md, "Chunking", specifies
// the names and the rules.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

// CookieSizes returns the exact length, in bytes, of each Set-Cookie
// header value that saving the session now would send (name, value and
// every attribute), one per cookie: one, or one per chunk with
// Config.MaxChunks. If the session would not fit, it returns a
// [*TooLargeError] that says which limit it exceeds and names its largest
// parts, so that a handler can undo its change and tell the user before
// it answers; Commit would refuse to save it and leave the browser's
// cookies as they are. An empty session, which is not saved, gives none.
// It seals nothing and costs about what encoding the session does.
func (s *Session) CookieSizes() ([]int, error) {
	st := s.use()
	if st == nil {
		return nil, ErrNoSession
	}
	defer st.mu.Unlock()
	if st.empty() {
		return nil, nil
	}
	now := unixNano(st.m.now())
	issuedAt, savedAt, deadline := st.times(now, true)
	if deadline <= now {
		return nil, nil // dead by its own rule: a save deletes it
	}
	p := st.toSeal(make([]byte, idLen), issuedAt, savedAt, deadline)
	f, err := st.m.frameFor(textLen(len(appendPayload(nil, &p))), st.expiry, deadline, now)
	if err != nil {
		return nil, withParts(err, &p)
	}
	return slices.Clone(f.lines[:f.n]), nil
}

// TooLargeError reports a session whose cookies would exceed a limit. It
// matches [ErrTooLarge]. Commit returns it, and sends no Set-Cookie, so the
// browser keeps its previous cookies; [Session.CookieSizes] returns it
// before the response is written, so that a handler can undo its change
// and tell the user.
type TooLargeError struct {
	// Setting names the Config field whose limit the session exceeds:
	// "MaxCookieSize" (one cookie's Set-Cookie header value, without
	// chunking), "MaxChunks" (how many cookies it would need) or
	// "MaxHeaderBytes" (its share of a request's Cookie header).
	Setting string
	// Size is what the session needs and Limit what Setting allows, in
	// bytes, or in cookies for MaxChunks.
	Size, Limit int
	// Largest lists the session's largest parts, largest first, at most
	// three: what to shrink. It holds names and sizes, never values.
	Largest []Part
}

// A Part is one part of a session and its encoded size in bytes. Name is
// the key for a value stored with Set, and "(data)" for the value of
// SetData, "(flashes)" for pending flash messages, "(subject)" for the
// subject.
type Part struct {
	Name string
	Size int
}

func (e *TooLargeError) Error() string {
	unit := "bytes"
	if e.Setting == "MaxChunks" {
		unit = "cookies"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v: needs %d %s, %s is %d", ErrTooLarge, e.Size, unit, e.Setting, e.Limit)
	for i, p := range e.Largest {
		if i == 0 {
			b.WriteString("; largest:")
		} else {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %q %d bytes", p.Name, p.Size)
	}
	return b.String()
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// textLen is the length of the text form of a sealed plaintext of n bytes.
func textLen(n int) int { return format.EncodedLen(format.Overhead + n) }

// frame is how the text form of a sealed session is sent.
type frame struct {
	times  times                 // the cookies' Expires and Max-Age
	n      int                   // how many cookies
	values [format.MaxChunks]int // the length of each cookie's value, the session cookie's first
	lines  [format.MaxChunks]int // the length of each cookie's Set-Cookie header value
}

// frameFor returns how a text form of n characters is sent for a session
// with expiry e and deadline, sealed at now: split across as few cookies
// as hold it, each filled in turn, or a *TooLargeError. Every length is
// exact: a cookie's line is the line it would have with an empty value,
// plus its value, which needs no quoting.
func (m *Manager) frameFor(n int, e Expiry, deadline, now int64) (frame, error) {
	var f frame
	if !m.browserSession(e) {
		// Max-Age, in whole seconds, never points past the sealed deadline
		// by a second or more, nor past what browsers honour.
		maxAge := int(min(max((deadline-now)/int64(time.Second), 1), maxMaxAge))
		f.times = newTimes(maxAge, time.Unix(now/int64(time.Second)+int64(maxAge), 0))
	}
	base0 := m.lineLen(0, 0, &f.times)
	room0 := min(m.cfg.MaxCookieSize-base0, format.MaxChunkLen)
	chunks := 1
	if n > room0 {
		if m.cfg.MaxChunks == 1 {
			return f, &TooLargeError{Setting: "MaxCookieSize", Size: base0 + n, Limit: m.cfg.MaxCookieSize}
		}
		// The names of chunks 1 to 9 have one length, so their room is
		// one number.
		base1 := m.lineLen(1, 0, &f.times)
		room := min(m.cfg.MaxCookieSize-base1, format.MaxChunkLen)
		if room <= 0 {
			return f, &TooLargeError{Setting: "MaxCookieSize", Size: base1 + 1, Limit: m.cfg.MaxCookieSize}
		}
		chunks = 1 + (n-room0+room-1)/room
		if chunks > m.cfg.MaxChunks {
			return f, &TooLargeError{Setting: "MaxChunks", Size: chunks, Limit: m.cfg.MaxChunks}
		}
	}
	header := n + 2*(chunks-1) // the values, and "; " between cookies
	for i := range chunks {
		header += len(m.names[i]) + 1
	}
	if header > m.cfg.MaxHeaderBytes {
		return f, &TooLargeError{Setting: "MaxHeaderBytes", Size: header, Limit: m.cfg.MaxHeaderBytes}
	}
	f.n = chunks
	for i := range chunks {
		base := m.lineLen(i, 0, &f.times)
		f.values[i] = min(n, m.cfg.MaxCookieSize-base, format.MaxChunkLen)
		f.lines[i] = base + f.values[i]
		n -= f.values[i]
	}
	return f, nil
}

// withParts adds the largest parts of p to a *TooLargeError.
func withParts(err error, p *payload) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		tl.Largest = largestParts(p)
	}
	return err
}

// largestParts returns the three largest parts of p, by encoded size.
func largestParts(p *payload) []Part {
	var parts []Part
	data := p.Data
	if p.RawData != nil {
		data = p.RawData.build()
	}
	for k, v := range data {
		parts = append(parts, Part{Name: k, Size: len(appendHead(nil, majorText, uint64(len(k)))) + len(k) + len(v)})
	}
	if p.Value != nil {
		parts = append(parts, Part{Name: "(data)", Size: len(p.Value)})
	}
	if len(p.Flashes) > 0 {
		n := len(appendHead(nil, majorArray, uint64(len(p.Flashes))))
		for _, f := range p.Flashes {
			n += len(f)
		}
		parts = append(parts, Part{Name: "(flashes)", Size: n})
	}
	if p.Subject != "" {
		parts = append(parts, Part{Name: "(subject)", Size: len(appendHead(nil, majorText, uint64(len(p.Subject)))) + len(p.Subject)})
	}
	slices.SortFunc(parts, func(a, b Part) int {
		if a.Size != b.Size {
			return b.Size - a.Size
		}
		return strings.Compare(a.Name, b.Name)
	})
	return parts[:min(len(parts), 3)]
}

// deleteCookies expires the session's cookies from index from on: all of
// them for from 0, or the chunks a save of from cookies does not use. The
// range runs to Config.MaxChunks, so chunks another tab wrote go too, and
// on to any higher chunk this request carried (left from a time when
// MaxChunks was higher).
func (m *Manager) deleteCookies(st *state, h headerWriter, from int) {
	for i := from; i < max(m.cfg.MaxChunks, st.chunksCarried()); i++ {
		h.setCookie(m.lines.deleted[i])
	}
	if from == 0 {
		h.vary()
		h.noStore()
	}
}

// deleteOrphans expires, when no session cookie is written, chunk cookies
// that belong to no session: chunks the request carried beyond those of
// the session it opened (or all of them, with no session cookie). A
// session cookie that may be valid elsewhere keeps whatever it came with.
func (m *Manager) deleteOrphans(st *state, h headerWriter) {
	if st.keep || (st.carriedCookie() && !st.loaded) {
		return
	}
	from := max(st.chunks, 1)
	if st.chunksCarried() > from {
		m.deleteCookies(st, h, from)
		h.vary()
		h.noStore()
		st.varied = true
	}
}

// A chunkSet is the chunk cookies of a session (name.1 to name.9) that
// a request carried, read in one pass over its Cookie headers.
type chunkSet struct {
	values  [format.MaxChunks]string // the value of name.i; index 0 unused
	count   [format.MaxChunks]uint8  // how many cookies named name.i, at most 2
	carried int                      // one more than the highest i carried
}

// chunksCarried returns one more than the highest index of a chunk cookie
// of the session that the request carried, or 0 if it carried none.
func (st *state) chunksCarried() int { return st.chunksSeen }

// assemble returns the text form that a session cookie's value first
// begins, joined with the chunks it names from chunks: the value itself if it
// is not chunked. Its chunk count is checked against Config.MaxChunks
// before anything else. The chunks carried must be exactly those the
// count names, each once: a chunk missing, duplicated (under another Path
// or Domain) or past the count (a lost delete, or chunks of two sessions
// mixed) rejects the set.
func (m *Manager) assemble(first string, set *chunkSet) (text string, n int, err error) {
	h, ok := format.HeaderOf(first)
	if !ok || h.Chunks > m.cfg.MaxChunks || len(first) > format.MaxChunkLen {
		return "", 0, crypto.Invalid(crypto.ReasonMalformed)
	}
	if max(set.carried, 1) > h.Chunks || (h.Chunks > 1 && set.carried < h.Chunks) {
		return "", 0, crypto.Invalid(crypto.ReasonMalformed)
	}
	if h.Chunks == 1 {
		return first, 1, nil
	}
	size := len(first)
	for i := 1; i < h.Chunks; i++ {
		if set.count[i] != 1 || set.values[i] == "" || len(set.values[i]) > format.MaxChunkLen {
			return "", 0, crypto.Invalid(crypto.ReasonMalformed)
		}
		size += len(set.values[i])
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(first)
	for _, v := range set.values[1:h.Chunks] {
		b.WriteString(v)
	}
	return b.String(), h.Chunks, nil
}

// chunkNames returns the cookie names of the chunks of a session cookie
// named name: name itself, then name.1 to name.9.
func chunkNames(name string) (names [format.MaxChunks]string) {
	names[0] = name
	for i := 1; i < len(names); i++ {
		names[i] = name + "." + strconv.Itoa(i)
	}
	return names
}
