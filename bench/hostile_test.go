package bench

// Hostile cookies: what a request costs crumb when its cookie must be
// rejected, against opening a valid cookie of the same length. Every
// iteration sends a different value, so that no cache could help.

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
)

// variants is how many different values each hostile case cycles through.
const variants = 256

// A hostileCase is a set of Cookie header lines, used in turn.
type hostileCase struct {
	name    string
	cookies []string
	valid   bool // the cookies are valid sessions
}

// maxValue is the longest cookie value crumb reads: one cookie of 4096
// characters.
const maxValue = 4096

// hostileCases returns the read route of crumb, and the cookies to send it.
func hostileCases(tb testing.TB) (http.Handler, []hostileCase) {
	tb.Helper()
	m, ring := newManager(tb)
	name := m.Name()
	read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		v, _, _ := cookiesession.Get[string](s, "username")
		io.WriteString(w, v)
	}))

	// The largest valid session: the reference session and a padding
	// value as long as the cookie limit allows.
	s := m.Load(background)
	for k, v := range refMap() {
		if err := s.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	pad := 4096
	for ; pad > 0; pad-- {
		if err := s.Set("pad", strings.Repeat("x", pad)); err != nil {
			tb.Fatal(err)
		}
		if _, err := s.CookieSizes(); err == nil {
			break
		}
	}
	h := http.Header{}
	if err := m.Commit(s, http.StatusOK, h); err != nil {
		tb.Fatal(err)
	}
	largest, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	largestValue := largest[len(name)+1:]
	sealed, err := base64.RawURLEncoding.DecodeString(largestValue)
	if err != nil {
		tb.Fatal(err)
	}

	// sealedText returns the text of a value of n bytes that starts with a
	// header naming key id, and is random after it.
	id := ring.Primary().ID()
	sealedText := func(n int, id crypto.KeyID) string {
		b := secret(tb, n)
		b[0], b[1] = 1, 1 // format version 1, one cookie
		copy(b[2:6], id[:])
		return name + "=" + base64.RawURLEncoding.EncodeToString(b)
	}
	maxSealed := base64.RawURLEncoding.DecodedLen(maxValue)

	cases := []hostileCase{
		{name: "valid-ref", cookies: []string{crumbCookie(tb, m)}, valid: true},
		{name: "valid-largest", cookies: []string{largest}, valid: true},
	}
	var tagged, garbage, unknown, wrongTag []string
	for i := range variants {
		// The largest valid cookie with one bit of its tag flipped.
		b := append([]byte(nil), sealed...)
		b[len(b)-1-i%16] ^= 1 << (i / 16 % 8)
		tagged = append(tagged, name+"="+base64.RawURLEncoding.EncodeToString(b))
		// Characters of the cookie alphabet, at random.
		g := secret(tb, maxValue)
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for j := range g {
			g[j] = alphabet[g[j]%64]
		}
		garbage = append(garbage, name+"="+string(g))
		var other crypto.KeyID
		rand.Read(other[:])
		unknown = append(unknown, sealedText(maxSealed, other))
		wrongTag = append(wrongTag, sealedText(maxSealed, id))
	}
	cases = append(cases,
		hostileCase{name: "wrong-tag-largest", cookies: tagged},
		hostileCase{name: "garbage-max", cookies: garbage},
		hostileCase{name: "unknown-key-max", cookies: unknown},
		hostileCase{name: "wrong-tag-max", cookies: wrongTag},
	)
	return read, cases
}

func TestHostile(t *testing.T) {
	t.Parallel()
	h, cases := hostileCases(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cookie := range c.cookies[:min(len(c.cookies), 8)] {
				w := &bodyWriter{writer: *newWriter()}
				h.ServeHTTP(w, newRequest(cookie))
				want := ""
				if c.valid {
					want = ref.Username
				}
				if w.status != http.StatusOK || w.body.String() != want {
					t.Fatalf("status %d, body %q; want 200, %q", w.status, w.body.String(), want)
				}
			}
		})
	}
}

func BenchmarkHostile(b *testing.B) {
	h, cases := hostileCases(b)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			reqs := make([]*http.Request, len(c.cookies))
			for i, cookie := range c.cookies {
				reqs[i] = newRequest(cookie)
			}
			w := newWriter()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
			b.ReportMetric(float64(len(c.cookies[0])), "cookie-bytes")
		})
	}
}
