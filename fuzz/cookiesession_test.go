package fuzz_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// Fuzz targets for package cookiesession. They share a fixed key (csKey),
// so that every fuzz worker process opens the cookies its coordinator
// sealed as seeds, and a fixed clock, so that those cookies never expire.

// csNow is the clock of every Manager here.
var csNow = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// csKey is a fixed key derived from a public string: it protects nothing.
var csKey = func() *crypto.Key {
	s := sha256.Sum256([]byte("crumb/fuzz/cookiesession: public test key, never use"))
	k, err := crypto.NewKey(s[:])
	if err != nil {
		panic(err)
	}
	return k
}()

var csRing = func() *rotation.Keyring {
	r, err := rotation.NewKeyring(csKey)
	if err != nil {
		panic(err)
	}
	return r
}()

// csErrs records what a Manager reports; fuzz workers run inputs one at a
// time, but the recorder locks anyway.
type csErrs struct {
	mu   sync.Mutex
	errs []error
}

// csErrs is a slog.Handler that records the "error" attribute of every
// record: each rejected cookie is logged at Debug level with it.
func (e *csErrs) Enabled(context.Context, slog.Level) bool { return true }
func (e *csErrs) WithAttrs([]slog.Attr) slog.Handler       { return e }
func (e *csErrs) WithGroup(string) slog.Handler            { return e }
func (e *csErrs) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "error" {
			e.mu.Lock()
			e.errs = append(e.errs, err)
			e.mu.Unlock()
		}
		return true
	})
	return nil
}

func (e *csErrs) take() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := e.errs
	e.errs = nil
	return errs
}

// csManager returns a Manager over ring at csNow, reporting to errs.
func csManager(tb testing.TB, ring *rotation.Keyring, errs *csErrs) *cookiesession.Manager {
	tb.Helper()
	cfg := cookiesession.Config{Keys: ring, Clock: func() time.Time { return csNow }, Logger: slog.New(slog.DiscardHandler)}
	if errs != nil {
		cfg.Logger = slog.New(errs)
	}
	m, err := cookiesession.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// csSeal saves a session built by fill and returns the cookie value.
func csSeal(tb testing.TB, m *cookiesession.Manager, fill func(s *cookiesession.Session)) string {
	tb.Helper()
	s := m.Load(context.Background())
	fill(s)
	h := http.Header{}
	err := m.Commit(s, http.StatusOK, h)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil {
		tb.Fatal(err)
	}
	return c.Value
}

// csFills are the sessions the seeds hold.
var csFills = []func(s *cookiesession.Session){
	func(s *cookiesession.Session) { _ = s.Set("n", 1) },
	func(s *cookiesession.Session) {
		_ = s.Set("user", "ada")
		_ = s.Set("cart", []string{"tea", "milk"})
		_ = s.Set("prefs", map[string]any{"theme": "dark", "size": 3.5})
		s.SetSubject("user-42")
	},
	func(s *cookiesession.Session) {
		_ = cookiesession.AddFlash(s, "Saved.")
		_ = cookiesession.SetData(s, struct{ A, B int }{1, 2})
		s.SetExpiry(cookiesession.IdleFor(5 * time.Minute))
	},
	func(s *cookiesession.Session) {
		s.SetExpiry(cookiesession.ExpiresAt(csNow.Add(time.Hour)))
		_ = s.Set("", []byte{0, 1, 2})
	},
	func(s *cookiesession.Session) { s.SetExpiry(cookiesession.BrowserClose); _ = s.Set("b", true) },
}

// csCheckSetCookies checks that every Set-Cookie line in h parses with
// http.ParseSetCookie, is Valid, and carries m's name.
func csCheckSetCookies(t testing.TB, m *cookiesession.Manager, h http.Header) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("ParseSetCookie(%q): %v", line, err)
		}
		if err := c.Valid(); err != nil {
			t.Fatalf("emitted cookie %q is not Valid: %v", line, err)
		}
		if base, _, _ := strings.Cut(c.Name, "."); base != m.Name() {
			t.Fatalf("emitted cookie named %q, want %q or one of its chunks", c.Name, m.Name())
		}
		if len(line) > cookiesession.MaxCookieSize {
			t.Fatalf("emitted a %d-byte Set-Cookie", len(line))
		}
		out = append(out, c)
	}
	return out
}

// csOpensUnder reports whether any cookie named name in the Cookie headers
// opens under ring with m's additional data: checked with the keyring
// directly, not through cookiesession.
func csOpensUnder(ring *rotation.Keyring, name string, headers []string) bool {
	r := &http.Request{Header: http.Header{"Cookie": headers}}
	ad := format.AdditionalData("crumb/v1/cookiesession", name)
	for _, c := range r.CookiesNamed(name) {
		sealed, err := decodeText(c.Value)
		if err != nil {
			continue
		}
		if _, _, err := ring.Open(nil, sealed, ad); err == nil {
			return true
		}
	}
	return false
}

// FuzzCookieHeader feeds arbitrary Cookie header text (split into several
// header values at each newline, as HTTP/2 and API Gateway deliver them)
// to Manager.Load, uses the session (reads every key, and changes it for
// half the inputs) and commits it. Properties:
//
//   - nothing panics;
//   - every Set-Cookie line Commit returns parses with http.ParseSetCookie,
//     passes Cookie.Valid, carries the session cookie's name and fits 4096
//     bytes, and Commit's only error is a *TooLargeError;
//   - session data (an ID or any key) appears only if the header carries a
//     cookie of the session's name that opens under the target's own key,
//     checked with the keyring directly; a Manager holding another key
//     never finds a session in the same header;
//   - every rejected cookie is reported as ErrInvalid, ErrExpired or
//     ErrRevoked, never as anything else.
func FuzzCookieHeader(f *testing.F) {
	seedM := csManager(f, csRing, nil)
	name := seedM.Name()
	var valid []string
	for _, fill := range csFills {
		valid = append(valid, csSeal(f, seedM, fill))
	}
	for _, v := range valid {
		f.Add(name + "=" + v)
		f.Add("a=1; " + name + "=" + v + "; b=2")
		f.Add("a=1\n" + name + "=" + v)
		f.Add(name + `="` + v + `"`)
		f.Add(name + "=junk; " + name + "=" + v)
		f.Add(strings.Repeat(name+"=x; ", 4) + name + "=" + v)
		f.Add("__HOST-sessionid=" + v)
		f.Add(name + "=" + v[:len(v)-1])
		f.Add(name + "=" + v + "A")
		f.Add(name + "=" + v[:20] + "\\" + v[20:])
	}
	f.Add("")
	f.Add(name + "=")
	f.Add(name + "=" + strings.Repeat("A", 4096))
	f.Add(strings.Repeat("j=1; ", 3001) + name + "=" + valid[0])
	f.Add(strings.Repeat(name+"="+valid[0]+"; ", 100))

	errs := new(csErrs)
	m := csManager(f, csRing, errs)
	otherKey, err := crypto.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	otherRing, err := rotation.NewKeyring(otherKey)
	if err != nil {
		f.Fatal(err)
	}
	other := csManager(f, otherRing, nil)

	f.Fuzz(func(t *testing.T, header string) {
		headers := strings.Split(header, "\n")
		errs.take()
		s := m.Load(context.Background(), headers...)
		id := s.ID()
		keys := s.Keys()
		for _, k := range keys {
			_, _, _ = cookiesession.Get[any](s, k)
		}
		_, _ = s.Items()
		_, _ = cookiesession.Data[any](s)
		_ = s.Info()
		if (id != "" || len(keys) > 0) && !csOpensUnder(csRing, name, headers) {
			t.Fatalf("session data (ID %q, keys %q) from a header with no cookie sealed under the key", id, keys)
		}
		for _, err := range errs.take() {
			if !errors.Is(err, cookiesession.ErrInvalid) && !errors.Is(err, cookiesession.ErrExpired) && !errors.Is(err, cookiesession.ErrRevoked) {
				t.Fatalf("rejected cookie reported as %v", err)
			}
		}
		if len(header)%2 == 0 {
			if err := s.Set("fuzz", len(header)); err != nil {
				t.Fatal(err)
			}
		}
		h := http.Header{}
		err := m.Commit(s, http.StatusOK, h)
		var tl *cookiesession.TooLargeError
		if err != nil && !errors.As(err, &tl) {
			t.Fatalf("Commit: %v", err)
		}
		csCheckSetCookies(t, m, h)
		if len(header)%2 == 0 && err == nil && len(h.Values("Set-Cookie")) != 1 {
			t.Fatalf("a changed session sent %d Set-Cookie lines", len(h.Values("Set-Cookie")))
		}

		s2 := other.Load(context.Background(), headers...)
		if s2.ID() != "" || s2.Len() != 0 {
			t.Fatalf("a Manager without the key found a session")
		}
		h2 := http.Header{}
		_ = other.Commit(s2, http.StatusOK, h2)
		csCheckSetCookies(t, other, h2)
	})
}

// csGenericDec and csCanonicalEnc decode any CBOR strictly (duplicate keys
// refused) and encode it in core deterministic encoding, independently of
// crumb's own reader.
var (
	csGenericDec = func() cbor.DecMode {
		dm, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, IntDec: cbor.IntDecConvertNone}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
	csCanonicalEnc = func() cbor.EncMode {
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return em
	}()
)

// csPlaintext opens a cookie value sealed under csRing and returns its
// payload.
func csPlaintext(tb testing.TB, m *cookiesession.Manager, value string) []byte {
	tb.Helper()
	sealed, err := decodeText(value)
	if err != nil {
		tb.Fatal(err)
	}
	pt, _, err := csRing.Open(nil, sealed, format.AdditionalData("crumb/v1/cookiesession", m.Name()))
	if err != nil {
		tb.Fatal(err)
	}
	return pt
}

// csSnapshot is what a session holds, as raw CBOR where it can be.
type csSnapshot struct {
	info    cookiesession.Info
	keys    []string
	values  [][]byte
	value   []byte
	flashes [][]byte
	expiry  time.Time
}

func csTake(t *testing.T, s *cookiesession.Session) csSnapshot {
	t.Helper()
	snap := csSnapshot{info: s.Info(), keys: s.Keys(), expiry: s.ExpiryDate()}
	for _, k := range snap.keys {
		raw, _, err := cookiesession.Get[cbor.RawMessage](s, k)
		if err != nil {
			t.Fatalf("Get[RawMessage](%q): %v", k, err)
		}
		snap.values = append(snap.values, raw)
	}
	raw, err := cookiesession.Data[cbor.RawMessage](s)
	if err != nil {
		t.Fatalf("Data[RawMessage]: %v", err)
	}
	snap.value = raw
	flashes, err := cookiesession.Flashes[cbor.RawMessage](s)
	if err != nil {
		t.Fatalf("Flashes[RawMessage]: %v", err)
	}
	for _, fl := range flashes {
		snap.flashes = append(snap.flashes, fl)
	}
	return snap
}

func csBytesEqual(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

// FuzzDecodePayload seals arbitrary bytes as a session payload under the
// target's key, as only a holder of the key could, and opens the cookie.
// Properties:
//
//   - nothing panics;
//   - either the cookie is rejected, with no session data, and reported
//     once: as ErrInvalid with ReasonPayload (the payload is not one crumb
//     accepts), or as ErrExpired or ErrRevoked (it decodes, but its times
//     reject it at the fixed clock); or it opens without any report;
//   - a payload that opens is in core deterministic encoding: the cbor
//     library decodes it (duplicate keys refused) and re-encodes it to the
//     same bytes, so no two accepted payloads mean the same session;
//   - a session that opens survives a save: after MarkModified, Commit
//     emits a valid cookie, and opening that cookie gives the same ID,
//     subject, issue time, keys, stored values (byte for byte), typed value,
//     flashes and expiry rule (the deadline a save now would give).
func FuzzDecodePayload(f *testing.F) {
	seedM := csManager(f, csRing, nil)
	for _, fill := range csFills {
		pt := csPlaintext(f, seedM, csSeal(f, seedM, fill))
		f.Add(pt)
		f.Add(append(slices.Clone(pt), 0))
		f.Add(pt[:len(pt)/2])
		f.Add(append([]byte{0xd9, 0xd9, 0xf7}, pt...))
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})
	f.Add([]byte{0x9b, 0x00, 0x00, 0x42, 0xfa, 0x42, 0xfa, 0x42, 0xfa})
	for _, fill := range csFills {
		// The same payloads with one integer head lengthened, and with
		// every map's first two keys swapped where that is easy: both
		// non-canonical.
		pt := csPlaintext(f, seedM, csSeal(f, seedM, fill))
		if i := bytes.IndexByte(pt, 0x1b); i > 0 {
			f.Add(append(append(slices.Clone(pt[:i]), 0x1b, 0, 0, 0, 0), pt[i+1:]...))
		}
		f.Add(append(slices.Clone(pt), 0xf9, 0x7e, 0x00))
	}

	errs := new(csErrs)
	m := csManager(f, csRing, errs)
	ad := format.AdditionalData("crumb/v1/cookiesession", m.Name())

	f.Fuzz(func(t *testing.T, payload []byte) {
		if crypto.Overhead+len(payload) > format.MaxChunkLen/4*3 {
			return // does not fit one cookie: rejected before it is opened
		}
		sealed, err := csRing.Seal(nil, payload, ad)
		if err != nil {
			t.Fatal(err)
		}
		errs.take()
		cookie := m.Name() + "=" + format.Encode(sealed)
		s := m.Load(context.Background(), cookie)
		id := s.ID()
		reports := errs.take()
		if id == "" {
			if s.Len() != 0 {
				t.Fatalf("rejected payload left %d keys", s.Len())
			}
			if len(reports) != 1 {
				t.Fatalf("rejected payload reported %v, want one error", reports)
			}
			err := reports[0]
			switch {
			case errors.Is(err, cookiesession.ErrInvalid):
				if crypto.ReasonOf(err) != crypto.ReasonPayload {
					t.Fatalf("rejected payload: reason %v, want ReasonPayload", crypto.ReasonOf(err))
				}
			case errors.Is(err, cookiesession.ErrExpired), errors.Is(err, cookiesession.ErrRevoked):
			default:
				t.Fatalf("rejected payload reported %v", err)
			}
			return
		}
		if len(reports) != 0 {
			t.Fatalf("an opened session reported %v", reports)
		}
		var generic any
		if err := csGenericDec.Unmarshal(payload, &generic); err != nil {
			t.Fatalf("opened payload %x: the cbor library refuses it: %v", payload, err)
		}
		if again, err := csCanonicalEnc.Marshal(generic); err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("opened payload %x is not canonical: re-encoded as %x (%v)", payload, again, err)
		}

		// Snapshot a second load of the same cookie: reading the flashes
		// consumes them.
		before := csTake(t, m.Load(context.Background(), cookie))
		s.MarkModified()
		h := http.Header{}
		err = m.Commit(s, http.StatusOK, h)
		var tl *cookiesession.TooLargeError
		if errors.As(err, &tl) {
			return // the canonical re-encoding, with new times, can be longer
		}
		if err != nil {
			t.Fatalf("Commit of an opened session: %v", err)
		}
		cookies := csCheckSetCookies(t, m, h)
		if len(cookies) != 1 || cookies[0].Value == "" {
			t.Fatalf("Commit of a modified session sent %q", h.Values("Set-Cookie"))
		}
		again := m.Load(context.Background(), m.Name()+"="+cookies[0].Value)
		if again.ID() == "" {
			t.Fatalf("re-committed session does not open: %v", errs.take())
		}
		after := csTake(t, again)
		if after.info.ID != before.info.ID || after.info.Subject != before.info.Subject ||
			!after.info.IssuedAt.Equal(before.info.IssuedAt) || !slices.Equal(after.keys, before.keys) ||
			!csBytesEqual(after.values, before.values) || !bytes.Equal(after.value, before.value) ||
			!csBytesEqual(after.flashes, before.flashes) || !after.expiry.Equal(before.expiry) {
			t.Fatalf("round trip changed the session:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}

// FuzzSetCookieHeader stores arbitrary strings in a session (as a key and
// value, as the subject, and as a flash message) and commits it.
// Properties:
//
//   - nothing panics;
//   - Set and AddFlash refuse only keys and values that are not valid
//     UTF-8, and SetSubject only such subjects (ErrEncode, session
//     unchanged); Commit fails only with a *TooLargeError (no Set-Cookie);
//   - otherwise the one Set-Cookie line parses with http.ParseSetCookie and
//     is Valid, and the Cookie header a browser sends back,
//     name "=" value, parses with http.ParseCookie to the same name and
//     value;
//   - loading that header gives the session back: the value under the key,
//     the subject and the flash.
func FuzzSetCookieHeader(f *testing.F) {
	f.Add("user", "ada", "user-1")
	f.Add("", "", "")
	f.Add("k; Path=/", "v; Domain=evil.example", "s\r\nSet-Cookie: x=y")
	f.Add("ключ", "значение", "субъект")
	f.Add("\xff", "x", "y")
	f.Add("k", "\xff\xfe", "y")
	f.Add("k", "x", "\xff")
	f.Add("k", strings.Repeat("x", 3000), "")
	f.Add(strings.Repeat("k", 2000), strings.Repeat("v", 2000), "")

	m := csManager(f, csRing, nil)
	f.Fuzz(func(t *testing.T, key, value, subject string) {
		s := m.Load(context.Background())
		valid := utf8.ValidString(key) && utf8.ValidString(value)
		if err := s.Set(key, value); (err == nil) != valid || (err != nil && !errors.Is(err, cookiesession.ErrEncode)) {
			t.Fatalf("Set(%q, %q) = %v; want success exactly for valid UTF-8", key, value, err)
		}
		if err := cookiesession.AddFlash(s, value); (err == nil) != utf8.ValidString(value) {
			t.Fatalf("AddFlash(%q) = %v; want success exactly for valid UTF-8", value, err)
		}
		if err := s.SetSubject(subject); (err == nil) != utf8.ValidString(subject) {
			t.Fatalf("SetSubject(%q) = %v; want success exactly for valid UTF-8", subject, err)
		}
		if !valid || !utf8.ValidString(subject) {
			return
		}
		h := http.Header{}
		err := m.Commit(s, http.StatusOK, h)
		var tl *cookiesession.TooLargeError
		switch {
		case errors.As(err, &tl):
			if tl.Size <= tl.Limit || len(h.Values("Set-Cookie")) != 0 {
				t.Fatalf("TooLargeError %+v with Set-Cookie %q", tl, h.Values("Set-Cookie"))
			}
			return
		case err != nil:
			t.Fatalf("Commit: %v", err)
		}
		cookies := csCheckSetCookies(t, m, h)
		if len(cookies) != 1 {
			t.Fatalf("Commit sent %d cookies", len(cookies))
		}
		sent := cookies[0].Name + "=" + cookies[0].Value
		back, err := http.ParseCookie(sent)
		if err != nil || len(back) != 1 || back[0].Name != cookies[0].Name || back[0].Value != cookies[0].Value {
			t.Fatalf("ParseCookie(%q) = %v, %v", sent, back, err)
		}

		again := m.Load(context.Background(), sent)
		got, ok, err := cookiesession.Get[string](again, key)
		if !ok || err != nil || got != value {
			t.Fatalf("Get(%q) = %q, %v, %v; want %q", key, got, ok, err, value)
		}
		if again.Subject() != subject {
			t.Fatalf("subject %q, want %q", again.Subject(), subject)
		}
		flashes, err := cookiesession.Flashes[string](again)
		if err != nil || !slices.Equal(flashes, []string{value}) {
			t.Fatalf("Flashes = %q, %v; want [%q]", flashes, err, value)
		}
	})
}

// FuzzSetRaw stores arbitrary bytes as a raw CBOR value, which Set writes
// into the payload as they are. Properties:
//
//   - nothing panics;
//   - Set refuses exactly what the reader refuses: a value Set accepts
//     commits, and the cookie opens to the same bytes under the same key
//     (and Items decodes it); a value Set refuses (ErrEncode) leaves the
//     session unchanged.
func FuzzSetRaw(f *testing.F) {
	for _, seed := range [][]byte{
		{0x01}, {0x18, 0x01}, {0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02}, {0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02},
		{0x62, 'a', 0xff}, {0xf9, 0x7e, 0x00}, {0xfa, 0x3f, 0xc0, 0, 0}, {0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01}, {0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01},
		{0xc1, 0x01}, {0xf7}, {0xa1, 0x80, 0x01}, {},
	} {
		f.Add(seed)
	}
	m := csManager(f, csRing, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := m.Load(context.Background())
		if err := s.Set("raw", cbor.RawMessage(raw)); err != nil {
			if !errors.Is(err, cookiesession.ErrEncode) || s.Has("raw") || s.Modified() {
				t.Fatalf("Set(%x) = %v, Has %v, Modified %v; want ErrEncode and no change", raw, err, s.Has("raw"), s.Modified())
			}
			return
		}
		h := http.Header{}
		err := m.Commit(s, http.StatusOK, h)
		var tl *cookiesession.TooLargeError
		if errors.As(err, &tl) {
			return
		}
		if err != nil {
			t.Fatalf("Commit after Set(%x): %v", raw, err)
		}
		cookies := csCheckSetCookies(t, m, h)
		if len(cookies) != 1 {
			t.Fatalf("Commit sent %d cookies", len(cookies))
		}
		again := m.Load(context.Background(), m.Name()+"="+cookies[0].Value)
		want := raw
		if len(raw) == 0 {
			want = []byte{0xf6} // an empty RawMessage encodes as null
		}
		got, ok, err := cookiesession.Get[cbor.RawMessage](again, "raw")
		if !ok || err != nil || !bytes.Equal(got, want) {
			t.Fatalf("stored %x, read back %x, %v, %v", raw, got, ok, err)
		}
		if _, err := again.Items(); err != nil {
			t.Fatalf("Items after Set(%x): %v", raw, err)
		}
	})
}

// FuzzChunks feeds arbitrary Cookie headers, seeded with sessions split
// across chunk cookies, to a Manager with chunking on (MaxChunks 5,
// MaxCookieSize 400). Properties:
//
//   - nothing panics;
//   - a session opens only as one that was sealed, whole: it holds what a
//     seed holds, and the header carries each of its
//     chunk names (name.1 to name.k-1) exactly once and no chunk name past
//     them, checked by parsing the header here;
//   - a rejected set is reported as ErrInvalid, and the session is empty;
//   - an untouched session's Commit sets nothing and only expires the
//     session's own names, all of them up to the cap and any higher chunk
//     carried when the set was rejected as dead;
//   - a changed session is sent in at most 5 cookies of at most 400 bytes,
//     named name, name.1, ... in order, or refused with a *TooLargeError.
func FuzzChunks(f *testing.F) {
	errs := new(csErrs)
	cfg := cookiesession.Config{Keys: csRing, Clock: func() time.Time { return csNow }, Logger: slog.New(errs),
		MaxChunks: 5, MaxCookieSize: 400, MaxHeaderBytes: 1 << 16}
	m, err := cookiesession.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	name := m.Name()
	chunkName := func(i int) string {
		if i == 0 {
			return name
		}
		return name + "." + strconv.Itoa(i)
	}
	sizes := []int{10, 250, 500, 800} // the value of seed i is sizes[i] long
	for i, n := range sizes {
		s := m.Load(context.Background())
		_ = s.Set("v", strings.Repeat("x", n))
		_ = s.Set("i", i)
		h := http.Header{}
		if err := m.Commit(s, http.StatusOK, h); err != nil {
			f.Fatal(err)
		}
		var pairs []string
		for _, c := range csCheckSetCookies(f, m, h) {
			if c.MaxAge >= 0 {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
		}
		f.Add(strings.Join(pairs, "; "))
		f.Add(strings.Join(pairs, "\n"))
		reversed := slices.Clone(pairs)
		slices.Reverse(reversed)
		f.Add(strings.Join(reversed, "; ") + "; " + name + ".9=x")
		if len(pairs) > 1 {
			f.Add(strings.Join(pairs[:len(pairs)-1], "; "))
			f.Add(strings.Join(pairs, "; ") + "; " + pairs[1])
		}
	}
	f.Add(name + "=AQpAAAAA")
	f.Add("")

	f.Fuzz(func(t *testing.T, header string) {
		headers := strings.Split(header, "\n")
		errs.take()
		s := m.Load(context.Background(), headers...)
		rejected := s.Err()
		id := s.ID()
		r := &http.Request{Header: http.Header{"Cookie": headers}}
		var seen [10]int
		carried := 0
		for _, c := range r.Cookies() {
			for i := range 10 {
				if c.Name == chunkName(i) {
					seen[i]++
					carried = max(carried, i+1)
				}
			}
		}
		if id != "" {
			// Fuzzing workers seal their own seeds, with other IDs: a
			// session is recognised by its content.
			i, _, _ := cookiesession.Get[int](s, "i")
			v, _, _ := cookiesession.Get[string](s, "v")
			if !slices.Equal(s.Keys(), []string{"i", "v"}) || i < 0 || i >= len(sizes) || v != strings.Repeat("x", sizes[i]) {
				t.Fatalf("a session (keys %q) that was never sealed", s.Keys())
			}
			for i := 1; i < carried; i++ {
				if seen[i] != 1 {
					t.Fatalf("a session opened with chunk %d carried %d times (chunks up to %d)", i, seen[i], carried-1)
				}
			}
		}
		if rejected != nil {
			if !errors.Is(rejected, cookiesession.ErrInvalid) || id != "" || !s.IsEmpty() {
				t.Fatalf("rejected with %v, ID %q, IsEmpty %v", rejected, id, s.IsEmpty())
			}
		}
		change := len(header)%2 == 0
		if change {
			if err := s.Set("fuzz", strings.Repeat("f", len(header)%1500)); err != nil {
				t.Fatal(err)
			}
		}
		h := http.Header{}
		err := m.Commit(s, http.StatusOK, h)
		var tl *cookiesession.TooLargeError
		if err != nil && (!change || !errors.As(err, &tl)) {
			t.Fatalf("Commit: %v", err)
		}
		var set, deleted []int
		for _, line := range h.Values("Set-Cookie") {
			c, perr := http.ParseSetCookie(line)
			if perr != nil || c.Valid() != nil {
				t.Fatalf("Set-Cookie %q does not parse or is not valid", line)
			}
			i := slices.IndexFunc([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, func(i int) bool { return chunkName(i) == c.Name })
			if i < 0 || len(line) > 400 {
				t.Fatalf("Set-Cookie for %q, %d bytes", c.Name, len(line))
			}
			if c.MaxAge < 0 {
				deleted = append(deleted, i)
			} else {
				set = append(set, i)
			}
		}
		if !change && len(set) > 0 {
			t.Fatalf("an untouched session set cookies %v", set)
		}
		if len(set) > 5 || !slices.Equal(set, []int{0, 1, 2, 3, 4}[:len(set)]) {
			t.Fatalf("set cookies %v, want 0, 1, ... up to 5", set)
		}
		if err != nil && len(h.Values("Set-Cookie")) > 0 {
			t.Fatalf("a refused save sent Set-Cookie")
		}
		if rejected != nil && crypto.ReasonOf(rejected) != crypto.ReasonUnknownKey && seen[0] > 0 && !change {
			want := []int{}
			for i := range max(5, carried) {
				want = append(want, i)
			}
			if !slices.Equal(deleted, want) {
				t.Fatalf("a dead set (%v) expired %v, want %v", rejected, deleted, want)
			}
		}
	})
}
