package cookiesession_test

// Tests of size.go: what a session takes on the wire (Session.CookieSizes
// against what Commit sends), the *TooLargeError at exact boundaries, and
// chunking as docs/FORMAT.md, "Chunking", specifies it: authenticated
// count, cap checked first, exact names, stale chunks expired on every
// write, a broken set read as no session.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
)

// OversizeRefused, where crumb goes beyond Django: a session whose cookie would exceed the limit
// is not sent; the error is typed, and the browser's previous cookie is
// left alone (it still opens to the previous data).
func TestOversizeRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		limit int // Config.MaxCookieSize; 0 for the default 4096
		size  int // bytes of data added
	}{
		{"default limit", 0, 4000},
		{"far over", 0, 40000},
		{"configured limit", 512, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newManager(t, cookiesession.Config{MaxCookieSize: tc.limit})
			limit := tc.limit
			if limit == 0 {
				limit = cookiesession.MaxCookieSize
			}
			old := h.seed(map[string]any{"foo": "bar"})

			// A value too large for any cookie is refused at once.
			if tc.size > crypto.MaxPlaintext {
				s := h.load(old)
				if err := s.Set("big", randomText(tc.size)); !errors.Is(err, cookiesession.ErrTooLarge) || s.Has("big") {
					t.Errorf("Set of %d bytes = %v, Has %v; want ErrTooLarge and no change", tc.size, err, s.Has("big"))
				}
				wantString(t, s, "foo", "bar")
				return
			}

			// Header-level: Commit returns the error.
			s := h.load(old)
			if err := s.Set("big", randomText(tc.size)); err != nil {
				t.Fatal(err)
			}
			hdr, err := commitHeader(h.m, s, http.StatusOK)
			var tl *cookiesession.TooLargeError
			if !errors.Is(err, cookiesession.ErrTooLarge) || !errors.As(err, &tl) {
				t.Fatalf("Commit() error = %v, want a *TooLargeError", err)
			}
			if tl.Size <= tl.Limit || tl.Limit > limit {
				t.Errorf("TooLargeError{Size: %d, Limit: %d}, want Size > Limit, Limit <= %d", tl.Size, tl.Limit, limit)
			}
			noCookie(t, hdr)

			// Committing into a ResponseWriter's header, as a handler
			// without the middleware does, adds nothing either.
			s = h.load(old)
			if err := s.Set("big", randomText(tc.size)); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			if err := h.m.Commit(s, http.StatusOK, w.Header()); !errors.Is(err, cookiesession.ErrTooLarge) {
				t.Errorf("Commit() error = %v, want ErrTooLarge", err)
			}
			noCookie(t, w.Header())

			// Handler logs it and still serves the page.
			resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
				s, _ := cookiesession.FromContext(r.Context())
				if err := s.Set("big", randomText(tc.size)); err != nil {
					t.Error(err)
				}
			}, old)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			noCookie(t, resp.Header)
			h.wantErrors(cookiesession.ErrTooLarge)

			// The previous cookie is untouched and still valid.
			wantString(t, h.load(old), "foo", "bar")
			h.wantErrors()
		})
	}

	// Just under the limit is sent, and fits.
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("big", randomText(2800)); err != nil {
		t.Fatal(err)
	}
	hdr := h.commit(s, http.StatusOK)
	if line := hdr.Get("Set-Cookie"); line == "" || len(line) > cookiesession.MaxCookieSize {
		t.Errorf("Set-Cookie of %d bytes, want a cookie of at most %d", len(line), cookiesession.MaxCookieSize)
	}
}

// wantTooLarge commits s and checks that it was refused as too large, with
// no Set-Cookie.
func wantTooLarge(t *testing.T, m *cookiesession.Manager, s *cookiesession.Session) *cookiesession.TooLargeError {
	t.Helper()
	h, err := commitHeader(m, s, http.StatusOK)
	var tl *cookiesession.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Fatalf("Commit of an oversize session = %v, want a *TooLargeError", err)
	}
	if tl.Size <= tl.Limit {
		t.Errorf("TooLargeError{Size: %d, Limit: %d}: want Size > Limit", tl.Size, tl.Limit)
	}
	if got := h.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("oversize session sent Set-Cookie %q", got)
	}
	return tl
}

func TestCommitOversize(t *testing.T) {
	t.Parallel()
	configs := map[string]func(*cookiesession.Config){
		"default": nil,
		"long Domain and Path": func(c *cookiesession.Config) {
			c.Domain = strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 60) + ".example.com"
			c.Path = "/" + strings.Repeat("p", 1023)
		},
		"MaxCookieSize 1000": func(c *cookiesession.Config) { c.MaxCookieSize = 1000 },
		"MaxCookieSize 256":  func(c *cookiesession.Config) { c.MaxCookieSize = 256 },
	}
	for name, mod := range configs {
		t.Run(name, func(t *testing.T) {
			e := newHarness(t, mod)
			limit := e.cfg.MaxCookieSize
			if limit == 0 {
				limit = cookiesession.MaxCookieSize
			}

			// A value far too large.
			s := e.load()
			if err := s.Set("v", strings.Repeat("x", 5000)); err != nil {
				t.Fatal(err)
			}
			wantTooLarge(t, e.m, s)

			// Grow a value byte by byte: the last line accepted fits the
			// limit, the first refused is over it, and the limit is used
			// up to within a few bytes.
			lastOK := -1
			for n := 0; ; n++ {
				s := e.load()
				if err := s.Set("v", strings.Repeat("x", n)); err != nil {
					t.Fatal(err)
				}
				h, err := commitHeader(e.m, s, http.StatusOK)
				if err != nil {
					var tl *cookiesession.TooLargeError
					if !errors.As(err, &tl) {
						t.Fatalf("value of %d bytes: Commit = %v, want a *TooLargeError", n, err)
					}
					if tl.Size <= limit || tl.Size <= tl.Limit {
						t.Errorf("value of %d bytes refused with %+v, within the limit %d", n, tl, limit)
					}
					if got := h.Values("Set-Cookie"); len(got) != 0 {
						t.Errorf("refused session sent Set-Cookie %q", got)
					}
					break
				}
				line := h.Get("Set-Cookie")
				checkSetCookies(t, e.m, h)
				if len(line) > limit {
					t.Fatalf("value of %d bytes sent a %d-byte Set-Cookie, over the limit %d", n, len(line), limit)
				}
				lastOK = len(line)
			}
			if lastOK < 0 {
				// The limit leaves no room even for an empty value (a
				// 128-byte limit with a __Host- name and Expires): still an
				// error, never a dropped cookie.
				return
			}
			if lastOK < limit-4 {
				t.Errorf("last accepted Set-Cookie is %d bytes, more than 4 under the limit %d", lastOK, limit)
			}
		})
	}
}

// TestCookieSizesMatchCommit: CookieSizes says exactly what Commit sends,
// line by line, or fails with the same *TooLargeError when Commit sends
// nothing; for every cookie attribute and expiry that changes a line's
// length, with and without chunking.
func TestCookieSizesMatchCommit(t *testing.T) {
	t.Parallel()
	configs := []struct {
		name string
		mod  func(*cookiesession.Config)
	}{
		{"default", nil},
		{"long Domain and Path", func(c *cookiesession.Config) {
			c.Domain = strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + ".example.com"
			c.Path = "/" + strings.Repeat("p", 500)
		}},
		{"Partitioned, SameSite None", func(c *cookiesession.Config) {
			c.Partitioned, c.SameSite = true, http.SameSiteNoneMode
		}},
		{"browser-session cookie", func(c *cookiesession.Config) { c.ExpireAtBrowserClose = true }},
		{"plain HTTP, a name with dots", func(c *cookiesession.Config) {
			c.InsecureHTTP, c.InsecureScriptAccess, c.Name = true, true, "app.v2.sid"
		}},
		{"10 chunks of 4096", func(c *cookiesession.Config) { c.MaxChunks, c.MaxHeaderBytes = 10, 1<<16 }},
		{"4 chunks of 700, default budget", func(c *cookiesession.Config) { c.MaxChunks, c.MaxCookieSize = 4, 700 }},
		{"10 chunks, default budget", func(c *cookiesession.Config) { c.MaxChunks = 10 }},
	}
	expiries := []struct {
		name string
		e    *cookiesession.Expiry
	}{
		{"default expiry", nil},
		{"IdleFor", ptr(cookiesession.IdleFor(90 * time.Minute))},
		{"ExpiresAt", ptr(cookiesession.ExpiresAt(t0.Add(3*time.Hour + 7*time.Second)))},
		{"browser session", ptr(cookiesession.BrowserClose)},
		{"already over", ptr(cookiesession.IdleFor(0))},
	}
	sizes := []int{0, 1, 100, 1000, 2900, 3100, 5000, 7000, 9000, 20000, 41000}
	for _, cfg := range configs {
		for _, exp := range expiries {
			t.Run(cfg.name+"/"+exp.name, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, cfg.mod)
				for _, n := range sizes {
					for _, reload := range []bool{false, true} {
						s := h.load()
						if n > 0 {
							if err := s.Set("v", randomText(n)); err != nil {
								continue // larger than any cookie: TestOversizeRefused
							}
						}
						if exp.e != nil {
							s.SetExpiry(*exp.e)
						}
						if reload {
							// A session from a cookie, changed: its ID and
							// issue time are kept, its save time moves.
							if _, err := s.CookieSizes(); err != nil || n == 0 {
								continue
							}
							hdr, err := commitHeader(h.m, s, http.StatusOK)
							if err != nil {
								t.Fatal(err)
							}
							h.clock.Advance(time.Minute)
							s = h.m.Load(context.Background(), chunkHeader(h.m, sentBy(t, h.m, hdr).values))
							if err := cookiesession.AddFlash(s, "saved"); err != nil {
								t.Fatal(err)
							}
						}
						want, wantErr := s.CookieSizes()
						hdr, err := commitHeader(h.m, s, http.StatusOK)
						got := sentBy(t, h.m, hdr)
						if wantErr != nil {
							var tl, tl2 *cookiesession.TooLargeError
							if !errors.As(wantErr, &tl) || !errors.As(err, &tl2) ||
								tl.Setting != tl2.Setting || tl.Size != tl2.Size || tl.Limit != tl2.Limit {
								t.Fatalf("%d bytes: CookieSizes error %v, Commit error %v: want the same *TooLargeError", n, wantErr, err)
							}
							if len(hdr.Values("Set-Cookie")) != 0 {
								t.Fatalf("%d bytes: refused session sent %d Set-Cookie fields", n, len(hdr.Values("Set-Cookie")))
							}
							continue
						}
						if err != nil {
							t.Fatalf("%d bytes: CookieSizes = %v, but Commit = %v", n, want, err)
						}
						if !slices.Equal(lineLens(got.lines), want) {
							t.Fatalf("%d bytes (reloaded %v): CookieSizes = %v, Commit sent lines of %v", n, reload, want, lineLens(got.lines))
						}
						if n == 0 && !reload && exp.e == nil && want != nil {
							t.Fatalf("empty session: CookieSizes = %v, want none", want)
						}
					}
				}
			})
		}
	}
}

// TestTooLargeBoundaries: each limit holds at its exact value: a session
// whose cookies come to exactly the limit is sent, one byte (or cookie)
// less refuses it with an error that names the setting, the size and the
// limit, and sends nothing.
func TestTooLargeBoundaries(t *testing.T) {
	t.Parallel()
	// need returns what a session of n bytes needs under m: its lines and
	// its share of a request's Cookie header.
	need := func(t *testing.T, m *cookiesession.Manager, n int) (got sent, header int) {
		t.Helper()
		s := filler(t, m, n)
		want, err := s.CookieSizes()
		if err != nil {
			t.Fatalf("CookieSizes: %v", err)
		}
		hdr, err := commitHeader(m, s, http.StatusOK)
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
		got = sentBy(t, m, hdr)
		if !slices.Equal(lineLens(got.lines), want) {
			t.Fatalf("CookieSizes = %v, Commit sent %v", want, lineLens(got.lines))
		}
		for i := range got.values {
			header += len(got.names[i]) + 1 + len(got.values[i])
		}
		return got, header + 2*(len(got.values)-1)
	}
	// check commits a session of n bytes under m, which must fit in
	// cookies cookies or be refused with setting, size and limit.
	check := func(t *testing.T, m *cookiesession.Manager, n, cookies int, setting string, size, limit int) {
		t.Helper()
		s := filler(t, m, n)
		sizes, sizesErr := s.CookieSizes()
		hdr, err := commitHeader(m, s, http.StatusOK)
		got := sentBy(t, m, hdr)
		if setting == "" {
			if err != nil || sizesErr != nil || len(got.lines) != cookies || len(sizes) != cookies {
				t.Errorf("Commit = %v, CookieSizes = %v, %v, sent %d cookies; want %d cookies", err, sizes, sizesErr, len(got.lines), cookies)
			}
			return
		}
		for _, err := range []error{sizesErr, err} {
			var tl *cookiesession.TooLargeError
			if !errors.As(err, &tl) || !errors.Is(err, cookiesession.ErrTooLarge) {
				t.Fatalf("error %v, want a *TooLargeError", err)
			}
			if tl.Setting != setting || tl.Size != size || tl.Limit != limit {
				t.Errorf("TooLargeError{%q, %d, %d}, want {%q, %d, %d}", tl.Setting, tl.Size, tl.Limit, setting, size, limit)
			}
		}
		if len(hdr.Values("Set-Cookie")) != 0 {
			t.Errorf("refused session sent Set-Cookie %q", hdr.Values("Set-Cookie"))
		}
	}

	t.Run("MaxCookieSize", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		got, _ := need(t, h.m, 2000)
		line := len(got.lines[0])
		for _, tc := range []struct {
			name    string
			limit   int
			setting string
		}{
			{"limit-1", line - 1, "MaxCookieSize"},
			{"limit", line, ""},
			{"limit+1", line + 1, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := h.with(func(c *cookiesession.Config) { c.MaxCookieSize = tc.limit })
				check(t, m, 2000, 1, tc.setting, line, tc.limit)
			})
		}
	})

	for _, k := range []int{1, 3} {
		t.Run(fmt.Sprintf("MaxHeaderBytes, %d cookies", k), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, chunked(10, 600))
			n := fillFor(t, h.m, k, 20000)
			_, header := need(t, h.m, n)
			for _, tc := range []struct {
				name    string
				limit   int
				setting string
			}{
				{"limit-1", header - 1, "MaxHeaderBytes"},
				{"limit", header, ""},
				{"limit+1", header + 1, ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m := h.with(func(c *cookiesession.Config) { c.MaxHeaderBytes = tc.limit })
					check(t, m, n, k, tc.setting, header, tc.limit)
				})
			}
		})
	}

	for k := 2; k <= 10; k++ {
		t.Run(fmt.Sprintf("MaxChunks, %d cookies", k), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, chunked(10, 400))
			n := fillFor(t, h.m, k, 20000)
			got, _ := need(t, h.m, n)
			// Without chunking, one cookie holds the whole text.
			whole := len(got.lines[0]) - len(got.values[0]) + len(strings.Join(got.values, ""))
			for _, tc := range []struct {
				name      string
				maxChunks int
			}{
				{"cap-1", k - 1},
				{"cap", k},
				{"cap+1", k + 1},
			} {
				if tc.maxChunks > 10 {
					continue // the format's own cap: TestConfigChunks
				}
				t.Run(tc.name, func(t *testing.T) {
					m := h.with(func(c *cookiesession.Config) { c.MaxChunks = tc.maxChunks })
					switch {
					case tc.maxChunks >= k:
						check(t, m, n, k, "", 0, 0)
					case tc.maxChunks == 1:
						// Without chunking, the one cookie is too long.
						check(t, m, n, 0, "MaxCookieSize", whole, 400)
					default:
						check(t, m, n, 0, "MaxChunks", k, tc.maxChunks)
					}
				})
			}
		})
	}
}

// TestTooLargeByteByByte grows a value one byte at a time across each
// limit: the last session accepted is within it, the next is refused by
// CookieSizes and Commit alike, and the limit is used up to within the
// few bytes one more base64 character group takes.
func TestTooLargeByteByByte(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mod     func(*cookiesession.Config)
		setting string
		limit   int // the limit that binds, on what fit() measures
		fit     func(s sent) int
	}{
		{"one cookie", nil, "MaxCookieSize", 4096, func(s sent) int { return len(s.lines[0]) }},
		{"3 chunks of 600", func(c *cookiesession.Config) { c.MaxChunks, c.MaxCookieSize = 3, 600 }, "MaxChunks", 600,
			func(s sent) int {
				if len(s.lines) < 3 {
					return 0
				}
				return len(s.lines[2])
			}},
		{"10 chunks, default header budget", func(c *cookiesession.Config) { c.MaxChunks = 10 }, "MaxHeaderBytes", 7168,
			func(s sent) int {
				n := 2 * (len(s.values) - 1)
				for i := range s.values {
					n += len(s.names[i]) + 1 + len(s.values[i])
				}
				return n
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.mod)
			first := sort.Search(50000, func(n int) bool {
				_, err := cookieSizes(t, h.m, n)
				return err != nil
			})
			for _, n := range []int{first - 2, first - 1, first, first + 1} {
				s := filler(t, h.m, n)
				_, sizesErr := s.CookieSizes()
				hdr, err := commitHeader(h.m, s, http.StatusOK)
				got := sentBy(t, h.m, hdr)
				if n < first {
					if err != nil || sizesErr != nil {
						t.Fatalf("%d bytes: Commit = %v, CookieSizes = %v; want it sent", n, err, sizesErr)
					}
					for _, line := range got.lines {
						if len(line) > cmp.Or(h.cfg.MaxCookieSize, cookiesession.MaxCookieSize) {
							t.Errorf("%d bytes: a %d-byte line", n, len(line))
						}
					}
					if f := tc.fit(got); n == first-1 && (f > tc.limit || f < tc.limit-4) {
						t.Errorf("largest session sent uses %d of %d", f, tc.limit)
					}
					continue
				}
				var tl *cookiesession.TooLargeError
				if !errors.As(err, &tl) || tl.Setting != tc.setting || !errors.Is(sizesErr, cookiesession.ErrTooLarge) {
					t.Fatalf("%d bytes: Commit = %v, CookieSizes = %v; want a *TooLargeError for %s", n, err, sizesErr, tc.setting)
				}
				if len(hdr.Values("Set-Cookie")) != 0 {
					t.Errorf("%d bytes: refused session sent Set-Cookie", n)
				}
			}
		})
	}
}

// TestTooLargeErrorParts: the error names the session's largest parts,
// largest first, with their sizes and never their values, and matches
// ErrTooLarge.
func TestTooLargeErrorParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	s := h.load()
	secret := randomText(2500)
	for _, kv := range []struct {
		k string
		v any
	}{{"big", secret}, {"mid", randomText(1200)}, {"small", randomText(300)}, {"tiny", 1}} {
		if err := s.Set(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetSubject(strings.Repeat("u", 400)); err != nil {
		t.Fatal(err)
	}
	if err := cookiesession.AddFlash(s, randomText(350)); err != nil {
		t.Fatal(err)
	}
	_, err := s.CookieSizes()
	var tl *cookiesession.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Fatalf("CookieSizes = %v, want a *TooLargeError", err)
	}
	var names []string
	for i, p := range tl.Largest {
		names = append(names, p.Name)
		if i > 0 && p.Size > tl.Largest[i-1].Size {
			t.Errorf("Largest %v is not largest first", tl.Largest)
		}
	}
	if want := []string{"big", "mid", "(subject)"}; !slices.Equal(names, want) {
		t.Errorf("Largest names %q, want %q", names, want)
	}
	// A part's size is its encoding: the value and a few bytes of CBOR
	// heads and key.
	if got := tl.Largest[0].Size; got < 2500 || got > 2500+8 {
		t.Errorf("size of %q = %d, want 2500 and a few bytes", "big", got)
	}
	msg := err.Error()
	for _, want := range []string{"MaxCookieSize", strconv.Itoa(tl.Size), "4096", `"big"`, `"mid"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to name %q", msg, want)
		}
	}
	for _, text := range []string{msg, fmt.Sprintf("%+v %#v", tl, tl)} {
		if strings.Contains(text, secret[:16]) {
			t.Errorf("the error prints a stored value: %q", text)
		}
	}
	// Commit gives the same error, and no Set-Cookie.
	hdr, cerr := commitHeader(h.m, s, http.StatusOK)
	var tl2 *cookiesession.TooLargeError
	if !errors.As(cerr, &tl2) || !reflect.DeepEqual(tl, tl2) {
		t.Errorf("Commit error %v, want %v", cerr, err)
	}
	noCookie(t, hdr)
}

// TestChunkRoundTrip: a session split across 1 to 10 cookies opens to what
// was saved, whatever the order of the cookies, the way the Cookie header
// is split, other cookies around them, and dots in the name. Each cookie
// is a complete cookie within MaxCookieSize, named name, name.1, and on.
func TestChunkRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "app.v2.sid"} {
		for k := 1; k <= 10; k++ {
			t.Run(fmt.Sprintf("%q/%d cookies", name, k), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, func(c *cookiesession.Config) {
					chunked(10, 400)(c)
					c.Name = name
				})
				n := fillFor(t, h.m, k, 20000)
				s := filler(t, h.m, n)
				sizes, err := s.CookieSizes()
				if err != nil {
					t.Fatal(err)
				}
				hdr, err := commitHeader(h.m, s, http.StatusOK)
				if err != nil {
					t.Fatal(err)
				}
				got := sentBy(t, h.m, hdr)
				if len(got.lines) != k || !slices.Equal(lineLens(got.lines), sizes) {
					t.Fatalf("sent %v, CookieSizes %v, want %d cookies", lineLens(got.lines), sizes, k)
				}
				for i, name := range got.names {
					if want := chunkName(h.m, i); name != want {
						t.Errorf("cookie %d named %q, want %q", i, name, want)
					}
					if len(got.lines[i]) > 400 {
						t.Errorf("cookie %d: a %d-byte line", i, len(got.lines[i]))
					}
				}
				wantDeleted(t, got.deleted, k, 10)

				pairs := make([]string, k)
				for i, v := range got.values {
					pairs[i] = chunkName(h.m, i) + "=" + v
				}
				reversed := slices.Clone(pairs)
				slices.Reverse(reversed)
				rotated := append(slices.Clone(pairs[k/2:]), pairs[:k/2]...)
				noise := []string{"other=1", h.m.Name() + ".x=1", h.m.Name() + ".99=1", h.m.Name() + ".0=1",
					h.m.Name() + ".10=1", h.m.Name() + ".01=1", h.m.Name() + "x.1=1"}
				for _, tc := range []struct {
					name    string
					headers []string
				}{
					{"one header, in order", []string{strings.Join(pairs, "; ")}},
					{"one header, reversed", []string{strings.Join(reversed, "; ")}},
					{"a header each, rotated", rotated},
					{"among other cookies", []string{strings.Join(append(noise[:3:3], reversed...), "; "), strings.Join(noise[3:], "; ")}},
				} {
					s := h.m.Load(context.Background(), tc.headers...)
					v, ok, err := cookiesession.Get[string](s, "v")
					if err != nil || !ok || len(v) != n || s.Err() != nil {
						t.Errorf("%s: Get = %d bytes, %v, %v; Err %v; want the %d bytes saved", tc.name, len(v), ok, err, s.Err(), n)
					}
				}
			})
		}
	}
}

// TestChunkTampering: a set of chunks that is not exactly the set sealed
// gives a fresh session (ErrInvalid, never an error page), and the
// response expires the session's cookies: every chunk missing, duplicated,
// swapped, taken from another session, extra, or with its count edited;
// every truncation and every character of every chunk.
func TestChunkTampering(t *testing.T) {
	t.Parallel()
	h := newHarness(t, chunked(5, 400))
	n := fillFor(t, h.m, 3, 20000)
	save := func() []string {
		hdr, err := commitHeader(h.m, filler(t, h.m, n), http.StatusOK)
		if err != nil {
			t.Fatal(err)
		}
		return sentBy(t, h.m, hdr).values
	}
	v, other := save(), save()
	if len(v) != 3 {
		t.Fatalf("%d cookies, want 3", len(v))
	}
	with := func(f func(c []string) []string) string {
		return chunkHeader(h.m, f(slices.Clone(v)))
	}
	cases := map[string]string{}
	for i := range 3 {
		if i > 0 {
			// Chunk 0 twice with one value is one cookie sent under two
			// Paths: the same session, which opens.
			cases[fmt.Sprintf("chunk %d twice", i)] = with(func(c []string) []string { return c }) + "; " + chunkName(h.m, i) + "=" + v[i]
			cases[fmt.Sprintf("chunk %d missing", i)] = strings.Replace(with(func(c []string) []string { return c }), chunkName(h.m, i)+"="+v[i], "x=1", 1)
		}
		if i > 0 { // chunk 0 twice is two candidate sessions: the one whose chunks are there opens
			cases[fmt.Sprintf("chunk %d also from another session", i)] = with(func(c []string) []string { return c }) + "; " + chunkName(h.m, i) + "=" + other[i]
		}
		cases[fmt.Sprintf("chunk %d from another session", i)] = with(func(c []string) []string { c[i] = other[i]; return c })
		cases[fmt.Sprintf("chunk %d empty", i)] = with(func(c []string) []string { c[i] = ""; return c })
		for j := i + 1; j < 3; j++ {
			cases[fmt.Sprintf("chunks %d and %d swapped", i, j)] = with(func(c []string) []string { c[i], c[j] = c[j], c[i]; return c })
		}
		for l := range len(v[i]) {
			cases[fmt.Sprintf("chunk %d cut to %d", i, l)] = with(func(c []string) []string { c[i] = c[i][:l]; return c })
			cases[fmt.Sprintf("chunk %d character %d", i, l)] = with(func(c []string) []string {
				c[i] = c[i][:l] + other64(c[i][l]) + c[i][l+1:]
				return c
			})
		}
		cases[fmt.Sprintf("chunk %d one character longer", i)] = with(func(c []string) []string { c[i] += "A"; return c })
	}
	for _, extra := range []int{3, 4, 9} {
		cases[fmt.Sprintf("extra chunk %d", extra)] = with(func(c []string) []string { return c }) + "; " + chunkName(h.m, extra) + "=" + v[2]
	}
	for count := 1; count <= 10; count++ {
		if count == 3 {
			continue
		}
		sealed, ok := format.Parse(strings.Join(v, ""))
		if !ok {
			t.Fatal("the saved text does not parse")
		}
		sealed.Sealed[1] = byte(count)
		text := format.Encode(sealed.Sealed)
		edited := []string{text[:len(v[0])], text[len(v[0]) : len(v[0])+len(v[1])], text[len(v[0])+len(v[1]):]}
		cases[fmt.Sprintf("count edited to %d", count)] = chunkHeader(h.m, edited)
		// With the set the edited count names: the text is one the key
		// never sealed.
		whole := chunkHeader(h.m, append(edited[:2:2], edited[2]))
		if count < 3 {
			joined := strings.Join(edited, "")
			parts := []string{joined}
			if count == 2 {
				parts = []string{edited[0], edited[1] + edited[2]}
			}
			whole = chunkHeader(h.m, parts)
		}
		cases[fmt.Sprintf("count edited to %d, chunks to match", count)] = whole
	}

	for name, header := range cases {
		s := h.m.Load(context.Background(), header)
		if err := s.Err(); !errors.Is(err, cookiesession.ErrInvalid) || !s.IsEmpty() {
			t.Errorf("%s: Err %v, IsEmpty %v; want ErrInvalid and a fresh session", name, err, s.IsEmpty())
			continue
		}
		hdr, err := commitHeader(h.m, s, http.StatusOK)
		got := sentBy(t, h.m, hdr)
		if err != nil || len(got.lines) != 0 {
			t.Errorf("%s: Commit = %v, set %d cookies", name, err, len(got.lines))
		}
		top := 5
		if strings.Contains(header, chunkName(h.m, 9)+"=") {
			top = 10
		}
		if crypto.ReasonOf(s.Err()) == crypto.ReasonUnknownKey {
			// A key ID changed: a cookie another instance's key may open
			// is left alone (TestCommitKeepsCookiesValidElsewhere).
			if !strings.HasPrefix(name, "chunk 0 character ") || len(got.deleted) != 0 {
				t.Errorf("%s: unknown key, expired %v", name, got.deleted)
			}
			continue
		}
		wantDeleted(t, got.deleted, 0, top)
	}

	// The same session, whole, still opens: the cases above failed for
	// what was changed.
	if s := h.m.Load(context.Background(), chunkHeader(h.m, v)); s.Err() != nil || s.Len() != 1 {
		t.Errorf("the untouched chunks: Err %v, IsEmpty %v", s.Err(), s.IsEmpty())
	}
	// So does the session cookie sent twice, with one value or with that
	// of another session whose chunks are not there (two Paths): of the
	// candidates, the one whose set is whole opens.
	for _, first := range []string{v[0], other[0]} {
		if s := h.m.Load(context.Background(), chunkName(h.m, 0)+"="+first+"; "+chunkHeader(h.m, v)); s.Err() != nil || s.Len() != 1 {
			t.Errorf("the session cookie twice: Err %v, Len %d", s.Err(), s.Len())
		}
	}
}

// other64 returns a base64url character other than c.
func other64(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestChunkCapFirst: a chunk count above MaxChunks is refused before any
// key lookup or AEAD open, and without work that grows with the count or
// the cookies; chunks of such a session are expired up to the highest one
// carried. Lowering MaxChunks (to 1: chunking turned off) ends the longer
// sessions this way, and keeps the shorter ones.
func TestChunkCapFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t, chunked(10, 400))
	save := func(k int) []string {
		hdr, err := commitHeader(h.m, filler(t, h.m, fillFor(t, h.m, k, 20000)), http.StatusOK)
		if err != nil {
			t.Fatal(err)
		}
		return sentBy(t, h.m, hdr).values
	}
	for _, tc := range []struct {
		name      string
		maxChunks int
		k         int // cookies the session was saved in
		opens     bool
	}{
		{"cap 1, 1 cookie", 1, 1, true},
		{"cap 1, 2 cookies", 1, 2, false},
		{"cap 3, 3 cookies", 3, 3, true},
		{"cap 3, 4 cookies", 3, 4, false},
		{"cap 3, 10 cookies", 3, 10, false},
		{"cap 9, 10 cookies", 9, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := h.with(func(c *cookiesession.Config) { c.MaxChunks = tc.maxChunks })
			v := save(tc.k)
			before := testhook.Opens(h.key)
			s := m.Load(context.Background(), chunkHeader(m, v))
			if tc.opens {
				if err := s.Err(); err != nil || s.IsEmpty() {
					t.Fatalf("Err %v, IsEmpty %v; want the session", err, s.IsEmpty())
				}
				return
			}
			if err := s.Err(); crypto.ReasonOf(err) != crypto.ReasonMalformed || !s.IsEmpty() {
				t.Fatalf("Err %v, IsEmpty %v; want ReasonMalformed and a fresh session", err, s.IsEmpty())
			}
			if d := testhook.Opens(h.key) - before; d != 0 {
				t.Errorf("%d AEAD opens, want 0", d)
			}
			hdr, _ := commitHeader(m, s, http.StatusOK)
			wantDeleted(t, sentBy(t, m, hdr).deleted, 0, max(tc.maxChunks, tc.k))
		})
	}
}

// TestChunkCleanup follows a browser (a cookie jar) through sessions of 1,
// 5, 2, 1 and 3 cookies: after each response it holds exactly the cookies
// of the session, each response expires every other chunk name up to
// MaxChunks (also ones this request did not carry, which another tab may
// have written), and Flush expires them all.
func TestChunkCleanup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, chunked(6, 400))
	fill := map[int]int{}
	for _, k := range []int{1, 2, 3, 5} {
		fill[k] = fillFor(t, h.m, k, 20000)
	}
	var lastDeleted []int
	view := func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if r.URL.Query().Has("flush") {
			_ = s.Flush()
			return
		}
		if k, err := strconv.Atoi(r.URL.Query().Get("k")); err == nil {
			_ = s.Set("v", strings.Repeat("x", fill[k]))
		}
		v, _, _ := cookiesession.Get[string](s, "v")
		fmt.Fprint(w, len(v))
	}
	srv := httptest.NewServer(h.m.Handler(http.HandlerFunc(view)))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: srv.Client().Transport}
	u, _ := url.Parse(srv.URL)
	step := func(query string) {
		t.Helper()
		resp := get(t, c, srv.URL+"/?"+query)
		lastDeleted = sentBy(t, h.m, resp.Header).deleted
	}
	held := func() []string {
		var names []string
		for _, c := range jar.Cookies(u) {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		return names
	}
	for _, k := range []int{1, 5, 2, 1, 3} {
		step(fmt.Sprintf("k=%d", k))
		want := []string{}
		for i := range k {
			want = append(want, chunkName(h.m, i))
		}
		slices.Sort(want)
		if got := held(); !slices.Equal(got, want) {
			t.Errorf("after a session of %d cookies the browser holds %q, want %q", k, got, want)
		}
		wantDeleted(t, lastDeleted, k, 6)
		if _, body := getBody(t, c, srv.URL+"/"); body != strconv.Itoa(fill[k]) {
			t.Errorf("session of %d cookies read back %s bytes, want %d", k, body, fill[k])
		}
	}
	step("flush")
	if got := held(); len(got) != 0 {
		t.Errorf("after Flush the browser holds %q", got)
	}
	wantDeleted(t, lastDeleted, 0, 6)
}

// TestChunkFailedSaveKeepsCookies: a save that does not fit sends no
// Set-Cookie at all, so the browser keeps every cookie of the previous
// session, which still opens; a handler that asks CookieSizes first can
// undo its change and say so before it answers.
func TestChunkFailedSaveKeepsCookies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, chunked(3, 400))
	two := fillFor(t, h.m, 2, 20000)
	view := func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n == 0 {
			v, _, _ := cookiesession.Get[string](s, "v")
			fmt.Fprint(w, len(v))
			return
		}
		old, _, _ := cookiesession.Get[string](s, "v")
		_ = s.Set("v", strings.Repeat("x", n))
		if r.URL.Query().Has("check") {
			if _, err := s.CookieSizes(); errors.Is(err, cookiesession.ErrTooLarge) {
				_ = s.Set("v", old)
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
		}
		fmt.Fprint(w, "ok")
	}
	srv := httptest.NewServer(h.m.Handler(http.HandlerFunc(view)))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: srv.Client().Transport}
	u, _ := url.Parse(srv.URL)
	get(t, c, fmt.Sprintf("%s/?n=%d", srv.URL, two))
	before := jar.Cookies(u)
	if len(before) != 2 {
		t.Fatalf("the browser holds %d cookies, want 2", len(before))
	}

	// Without the check: Commit refuses, nothing is sent.
	resp := get(t, c, srv.URL+"/?n=5000")
	if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("a refused save sent %d Set-Cookie fields", len(got))
	}
	if after := jar.Cookies(u); !reflect.DeepEqual(after, before) {
		t.Errorf("the browser's cookies changed after a refused save")
	}
	if _, body := getBody(t, c, srv.URL+"/"); body != strconv.Itoa(two) {
		t.Errorf("after the refused save the session holds %s bytes, want %d", body, two)
	}

	// With the check: the handler learns it in time and says so.
	resp, body := getBody(t, c, srv.URL+"/?check&n=5000")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "MaxChunks") {
		t.Errorf("checked save answered %d %q, want 413 naming MaxChunks", resp.StatusCode, body)
	}
	if _, body := getBody(t, c, srv.URL+"/"); body != strconv.Itoa(two) {
		t.Errorf("after the undone change the session holds %s bytes, want %d", body, two)
	}
}

// TestChunkCapAllocs: a cookie whose count is over the cap costs the same
// whatever the count and however many chunk cookies come with it: the
// count is read from the first 8 characters and refused before anything
// is looked up or allocated for the chunks.
func TestChunkCapAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process.
	e := newHarness(t, func(c *cookiesession.Config) {
		c.MaxChunks = 2
		c.Logger = slog.New(slog.DiscardHandler)
	})
	id := e.key.ID()
	header := func(count int) string {
		first := format.Encode(format.Header{Chunks: count, KeyID: id}.Append(nil)) + strings.Repeat("A", 3000)
		values := []string{first}
		for range count - 1 {
			values = append(values, strings.Repeat("A", 3000))
		}
		return chunkHeader(e.m, values)
	}
	allocs := map[int]float64{}
	for _, count := range []int{3, 10} {
		h := header(count)
		before := testhook.Opens(e.key)
		allocs[count] = testing.AllocsPerRun(50, func() {
			s := e.m.Load(context.Background(), h)
			if crypto.ReasonOf(s.Err()) != crypto.ReasonMalformed {
				t.Fatalf("count %d over the cap: Err %v, want ReasonMalformed", count, s.Err())
			}
		})
		if d := testhook.Opens(e.key) - before; d != 0 {
			t.Errorf("count %d over the cap: %d AEAD opens", count, d)
		}
	}
	if allocs[10] != allocs[3] || allocs[10] > 30 {
		t.Errorf("Load of a count over the cap allocates %v times for counts 3 and 10; want equal and at most 30", allocs)
	}
}

// TestSessionCapacity measures how much data a session holds: the longest
// []byte value that fits under one key, with the default attributes
// (__Host-sessionid, Path=/, Max-Age and Expires, HttpOnly, Secure,
// SameSite=Lax), in one cookie and chunked. The figures are exact, not
// timed: the README quotes them (go test -run TestSessionCapacity -v).
func TestSessionCapacity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*cookiesession.Config)
		// The figure must lie within these bounds, so that a change in
		// overhead shows up here and in the README.
		lo, hi int
	}{
		{"1 cookie (default)", nil, 2800, 3000},
		{"10 chunks, default MaxHeaderBytes 7168", func(c *cookiesession.Config) { c.MaxChunks = 10 }, 5200, 5300},
		{"10 chunks, MaxHeaderBytes 40960", func(c *cookiesession.Config) { c.MaxChunks, c.MaxHeaderBytes = 10, 40960 }, 29500, 30000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.mod)
			data := make([]byte, 40000)
			fits := func(n int) bool {
				s := h.load()
				if err := s.Set("v", data[:n]); err != nil {
					return false
				}
				_, err := s.CookieSizes()
				return err == nil
			}
			n := sort.Search(len(data), func(n int) bool { return !fits(n) }) - 1
			if !fits(n) || fits(n+1) {
				t.Fatalf("no exact capacity: fits(%d) = %v, fits(%d) = %v", n, fits(n), n+1, fits(n+1))
			}
			s := h.load()
			_ = s.Set("v", data[:n])
			sizes, _ := s.CookieSizes()
			t.Logf("%s: %d bytes of data in %d cookies of %v bytes", tc.name, n, len(sizes), sizes)
			if n < tc.lo || n > tc.hi {
				t.Errorf("%s holds %d bytes, want %d to %d", tc.name, n, tc.lo, tc.hi)
			}
		})
	}
}

// TestChunkOrphans: chunk cookies with no session cookie (its delete was
// lost, or another tab's request dropped it) are expired by the next
// response, which otherwise says nothing; a whole set is left alone.
func TestChunkOrphans(t *testing.T) {
	t.Parallel()
	h := newHarness(t, chunked(4, 400))
	hdr, err := commitHeader(h.m, filler(t, h.m, fillFor(t, h.m, 3, 20000)), http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	v := sentBy(t, h.m, hdr).values
	for _, tc := range []struct {
		name    string
		header  string
		deleted []int
	}{
		{"chunks 1 and 2 alone", chunkName(h.m, 1) + "=" + v[1] + "; " + chunkName(h.m, 2) + "=" + v[2], []int{1, 2, 3}},
		{"chunk 6 alone, past the cap", chunkName(h.m, 6) + "=x", []int{1, 2, 3, 4, 5, 6}},
		{"the whole set, untouched", chunkHeader(h.m, v), nil},
		{"unrelated names only", h.m.Name() + ".x=1; " + h.m.Name() + ".99=1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.m.Load(context.Background(), tc.header)
			if err := s.Err(); err != nil {
				t.Fatalf("Err = %v", err)
			}
			hdr, err := commitHeader(h.m, s, http.StatusOK)
			got := sentBy(t, h.m, hdr)
			if err != nil || len(got.lines) != 0 || !slices.Equal(got.deleted, tc.deleted) {
				t.Errorf("Commit = %v, set %d, expired %v; want expired %v", err, len(got.lines), got.deleted, tc.deleted)
			}
		})
	}
}
