package cookiesession

// crumb reads the session's cookies as net/http's Request.Cookies does:
// checked against net/http itself on tricky headers and on many generated
// ones. An internal test: the candidates are not visible from outside.

import (
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// viaNetHTTP returns the values net/http reads for the session cookie (at
// most maxCandidates of them, as crumb keeps) and for each chunk.
func viaNetHTTP(m *Manager, headers []string) (session []string, chunks [10][]string) {
	r := &http.Request{Header: http.Header{"Cookie": headers}}
	for _, c := range r.Cookies() {
		switch i := slices.Index(m.names[:], c.Name); {
		case i == 0:
			session = append(session, c.Value)
		case i > 0:
			chunks[i] = append(chunks[i], c.Value)
		}
	}
	return session, chunks
}

// viaCrumb returns the same as crumb reads them.
func viaCrumb(m *Manager, headers []string) (session []string, carried bool, chunks chunkSet) {
	st := &state{m: m}
	st.readCookies(headers)
	for i := range st.nCandidates {
		if st.class(i)&octetBit != 0 {
			session = append(session, st.candidates[i])
		}
	}
	return session, st.carriedCookie(), st.chunkCookies()
}

func checkAsNetHTTP(t *testing.T, m *Manager, headers []string) {
	t.Helper()
	want, wantChunks := viaNetHTTP(m, headers)
	got, carried, chunks := viaCrumb(m, headers)
	if !slices.Equal(got, want[:min(len(want), maxCandidates)]) || carried != (len(want) > 0) {
		t.Fatalf("%q: crumb read %q (carried %v), net/http %q", headers, got, carried, want)
	}
	for i := 1; i < len(wantChunks); i++ {
		w := wantChunks[i]
		count := min(len(w), 2)
		if int(chunks.count[i]) != count || (count > 0 && chunks.values[i] != w[len(w)-1]) {
			t.Fatalf("%q: chunk %d: crumb %q ×%d, net/http %q", headers, i, chunks.values[i], chunks.count[i], w)
		}
	}
}

func TestCookiesAsNetHTTP(t *testing.T) {
	t.Parallel()
	m, _, value := bufferManager(t)
	name := m.Name()
	for _, headers := range [][]string{
		{name + "=" + value},
		{name + "= " + value},
		{name + " =" + value},
		{" " + name + "=" + value + " ; a=1"},
		{name + "=" + value + "\t"},
		{name + `="` + value + `"`},
		{name + `=" ` + value + `"`},
		{name + `="` + value},
		{name + "=" + value + `\`},
		{name + "=va\"lue", name + "=" + value},
		{name},
		{name + "="},
		{name + "=a=b"},
		{name + ".1=x; " + name + ".1=y; " + name + ".2=z; " + name + ".10=w; " + name + ".0=v"},
		{name + ".1=\x7f; " + name + ".3=ok"},
		{strings.Repeat(name+"=\x01; ", 5) + name + "=" + value},
		{strings.Repeat(name+"=x; ", 6) + name + "=" + value},
		{"a=1;;;; " + name + "=" + value},
		{name + "=" + value + strings.Repeat(";", 2999)},
		{name + "=" + value + strings.Repeat(";", 3000)},
		{name + "=" + value, strings.Repeat(";", 2998)},
		{name + "=" + value, strings.Repeat(";", 2999)},
	} {
		checkAsNetHTTP(t, m, headers)
	}

	// Generated headers: pairs of the session's names and others, with
	// values of the characters that matter to the parsing.
	rng := rand.New(rand.NewPCG(1, 2)) // test input, nowhere near a key
	names := []string{name, name + ".1", name + ".2", name + ".9", name + ".10", "other", " " + name, name + " ", strings.ToUpper(name)}
	pieces := []string{"A", "z", "0", "-", "_", "=", " ", "\t", `"`, `\`, ",", "\x7f", "é", value[:8]}
	for range 20000 {
		var lines []string
		for range 1 + rng.IntN(2) {
			var b strings.Builder
			for j := range rng.IntN(6) {
				if j > 0 {
					b.WriteString([]string{";", "; ", " ;"}[rng.IntN(3)])
				}
				b.WriteString(names[rng.IntN(len(names))])
				if rng.IntN(8) > 0 {
					b.WriteString("=")
				}
				for range rng.IntN(5) {
					b.WriteString(pieces[rng.IntN(len(pieces))])
				}
			}
			lines = append(lines, b.String())
		}
		checkAsNetHTTP(t, m, lines)
	}
}

// TestCookieLimitAsNetHTTP checks that crumb's limit on the cookies of a
// request follows GODEBUG httpcookiemaxnum as net/http does. Not parallel:
// it sets GODEBUG, which net/http reads at once (parallel tests wait until
// it is done, and it is restored after).
func TestCookieLimitAsNetHTTP(t *testing.T) {
	var def string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				def = s.Value
			}
		}
	}
	for _, env := range []string{
		"",
		"httpcookiemaxnum=10",
		"httpcookiemaxnum=0",
		"httpcookiemaxnum=-1",
		"httpcookiemaxnum=many",
		"httpcookiemaxnum=",
		"httpcookiemaxnum=5,httpcookiemaxnum=20",
		"panicnil=1,httpcookiemaxnum=7#5",
		"httpcookiemaxnum=3500",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GODEBUG", env)
			limit := cookieLimitFrom(def, env)
			for _, n := range []int{1, 6, 7, 8, 9, 10, 11, 19, 20, 21, 2999, 3000, 3001, 3499, 3500, 3501} {
				line := strings.Repeat("a=1; ", n-1) + "a=1"
				r := &http.Request{Header: http.Header{"Cookie": {line}}}
				netHTTPNone := len(r.Cookies()) == 0
				over := limit != 0 && n > limit
				if netHTTPNone != over {
					t.Fatalf("%d cookies: net/http reads none: %v; crumb's limit %d says over: %v", n, netHTTPNone, limit, over)
				}
			}
		})
	}
}
