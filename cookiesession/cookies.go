package cookiesession

import (
	"net/textproto"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// This file reads the session's cookies from a request's Cookie header
// values, with the results of net/http's Request.Cookies but in one pass
// and without allocating, and classifies their characters when that
// matters.

// readCookies reads the session's cookies from the request's Cookie
// header values exactly as net/http's Request.Cookies does (pairs
// separated by ";", spaces trimmed, a value in double quotes unquoted, a
// value with other than cookie octets skipped, no cookies at all past
// 3000), in one pass with no allocation. The same pass notes whether each
// value is in the text form's alphabet, so opening it checks no character
// twice.
func (st *state) readCookies(headers []string) {
	if !withinMaxCookies(headers) {
		return
	}
	m := st.m
	for _, line := range headers {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextCookie(line, m.name)
			if name == "" {
				continue
			}
			if name == m.name {
				st.addCandidate(value)
				continue
			}
			if octets, _ := classify(value); !octets {
				continue // net/http skips it
			}
			if i := chunkIndex(name, m.name); i > 0 {
				st.headers = headers // read again if the chunks are needed
				st.chunksSeen = max(st.chunksSeen, i+1)
			}
		}
	}
}

// addCandidate keeps value, a value of the session cookie, if there is
// room. Its characters are checked later, when they matter, and once: a
// value net/http would skip (not cookie octets) is then no candidate and
// was not carried. Only when a fifth value comes are the kept ones
// checked now, to make room for it, so that the candidates are always the
// first values net/http would give.
func (st *state) addCandidate(value string) {
	if st.nCandidates == len(st.candidates) {
		n := 0
		for i := range st.nCandidates {
			if st.class(i)&octetBit != 0 {
				st.candidates[n], st.classes[n] = st.candidates[i], st.classes[i]
				n++
			}
		}
		st.nCandidates = n
		if n == len(st.candidates) {
			if octets, _ := classify(value); octets {
				st.extraCarried = true
			}
			return
		}
	}
	st.candidates[st.nCandidates], st.classes[st.nCandidates] = value, 0
	st.nCandidates++
}

// class returns the class of candidate i (octetBit, textBit), computing
// it on first use.
func (st *state) class(i int) byte {
	if st.classes[i]&classKnown == 0 {
		c := byte(classKnown)
		if octets, text := classify(st.candidates[i]); octets {
			c |= octetBit
			if text {
				c |= textBit
			}
		}
		st.classes[i] = c
	}
	return st.classes[i]
}

// carriedCookie reports whether the request carried the session cookie:
// a value of its name that net/http reads. Callers hold st.mu, or own st.
func (st *state) carriedCookie() bool {
	if st.extraCarried {
		return true
	}
	for i := range st.nCandidates {
		if st.class(i)&octetBit != 0 {
			return true
		}
	}
	return false
}

// isPlausible reports whether some candidate may be a valid session
// cookie, judging by its characters and header alone. Callers hold st.mu.
// The candidates do not change once read, so the answer is computed once:
// a commit asks several times.
func (st *state) isPlausible() bool {
	if st.plausibility == 0 {
		st.plausibility = 1
		for i := range st.nCandidates {
			if st.class(i)&textBit != 0 && st.m.plausible(st.candidates[i]) {
				st.plausibility = 2
				break
			}
		}
	}
	return st.plausibility == 2
}

// withinMaxCookies reports whether headers hold no more cookies than
// net/http reads: it counts a cookie per ";" of each line, plus one.
func withinMaxCookies(headers []string) bool {
	limit := cookieLimit()
	if limit == 0 {
		return true
	}
	size := 0
	for _, line := range headers {
		size += len(line)
	}
	if size+len(headers) <= limit {
		return true // fewer characters than the limit: fewer ";" too
	}
	n := 0
	for _, line := range headers {
		n += strings.Count(line, ";") + 1
	}
	return n <= limit
}

// cookieLimit is net/http's limit on the cookies of one request: 3000, or
// what GODEBUG httpcookiemaxnum sets (0 for none), read as net/http reads
// it, the environment first, then the binary's defaults (go.mod godebug
// lines, //go:debug directives). It is read once: a GODEBUG changed while
// the program runs applies to net/http but not here.
var cookieLimit = sync.OnceValue(func() int {
	var def string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				def = s.Value
			}
		}
	}
	return cookieLimitFrom(def, os.Getenv("GODEBUG"))
})

// defaultMaxCookies is net/http's limit without httpcookiemaxnum.
const defaultMaxCookies = 3000

// cookieLimitFrom returns the limit that the GODEBUG settings env and
// def (the binary's defaults) give: a setting in env wins, a later setting
// in a list wins over an earlier one, a "#pattern" suffix is ignored, and
// a value that is not an integer leaves the default.
func cookieLimitFrom(def, env string) int {
	v, ok := godebugValue(env, "httpcookiemaxnum")
	if !ok {
		v, ok = godebugValue(def, "httpcookiemaxnum")
	}
	if !ok {
		return defaultMaxCookies
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return defaultMaxCookies
	}
	return n
}

// godebugValue returns the value of the last setting name=value in the
// comma-separated list, without a "#pattern" suffix.
func godebugValue(list, name string) (string, bool) {
	for list != "" {
		var kv string
		if i := strings.LastIndexByte(list, ','); i >= 0 {
			list, kv = list[:i], list[i+1:]
		} else {
			list, kv = "", list
		}
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			v, _, _ = strings.Cut(v, "#")
			return v, true
		}
	}
	return "", false
}

// nextCookie splits the first pair off a Cookie header line, as net/http
// does, and returns the rest of the line. It returns an empty name, and
// does not trim the value, for a cookie whose name does not start with
// prefix.
func nextCookie(line, prefix string) (name, value, rest string) {
	part, rest, _ := strings.Cut(line, ";")
	name, value, _ = strings.Cut(part, "=")
	name = textproto.TrimString(name)
	if !strings.HasPrefix(name, prefix) {
		return "", "", rest
	}
	// net/http trims the pair, not the value: a space after "=" stays.
	for len(value) > 0 && isSpace(value[len(value)-1]) {
		value = value[:len(value)-1]
	}
	if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return name, value, rest
}

// isSpace reports whether b is ASCII white space as net/textproto trims it.
func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// chunkCookies returns the chunk cookies of the session that the request
// carried, reading its Cookie headers again: only a request that carries
// chunks pays for this.
func (st *state) chunkCookies() chunkSet {
	var set chunkSet
	m := st.m
	for _, line := range st.headers {
		for len(line) > 0 {
			var name, value string
			name, value, line = nextCookie(line, m.name)
			i := chunkIndex(name, m.name)
			if i == 0 {
				continue
			}
			if octets, _ := classify(value); !octets {
				continue
			}
			set.values[i] = value
			set.count[i] = min(set.count[i]+1, 2)
			set.carried = max(set.carried, i+1)
		}
	}
	return set
}

// classify reports whether every byte of v is a cookie octet that net/http
// accepts in a value, and whether every byte is in the alphabet of the
// text form (unpadded base64url), in one pass.
func classify(v string) (octets, text bool) {
	acc := byte(octetBit | textBit)
	for i := 0; i < len(v); i++ {
		acc &= byteClass[v[i]]
	}
	return acc&octetBit != 0, acc&textBit != 0
}

const (
	octetBit   = 1 << iota // a byte net/http accepts in a cookie value
	textBit                // a byte of unpadded base64url
	classKnown             // for a candidate: its class has been computed
)

var byteClass = func() (c [256]byte) {
	for b := 0x20; b < 0x7f; b++ {
		if b != '"' && b != ';' && b != '\\' {
			c[b] = octetBit
		}
	}
	for _, b := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		c[b] |= textBit
	}
	return c
}()

// chunkIndex returns i if name is name.i of a chunk of the session cookie
// base (1 to 9), or 0.
func chunkIndex(name, base string) int {
	if len(name) != len(base)+2 || name[len(base)] != '.' || name[len(base)+1] < '1' || name[len(base)+1] > '9' {
		return 0
	}
	return int(name[len(base)+1] - '0')
}
