package cookiesession

// The Set-Cookie lines crumb writes from fixed parts are byte for byte the
// lines net/http's Cookie.String writes for the same cookies.

import (
	"net/http"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

func TestLinesAsNetHTTP(t *testing.T) {
	t.Parallel()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"defaults", Config{}},
		{"domain and path", Config{Domain: "example.com", Path: "/app"}},
		{"strict", Config{SameSite: http.SameSiteStrictMode}},
		{"none, partitioned", Config{SameSite: http.SameSiteNoneMode, Partitioned: true}},
		{"insecure", Config{InsecureHTTP: true, InsecureScriptAccess: true, Name: "sid"}},
		{"chunked", Config{MaxChunks: 10, MaxHeaderBytes: 40960}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Keys = ring
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.cfg.MaxChunks {
				for _, maxAge := range []int{0, 1, 59, 1209600, maxMaxAge} {
					expires := time.Unix(1767225600+int64(maxAge), 0) // 2026-01-01 + maxAge
					if maxAge == 0 {
						expires = time.Time{}
					}
					tm := newTimes(maxAge, expires)
					value := "AQEAAAAA" + format.Encode(make([]byte, 3*i))
					got := m.line(i, []byte(value), &tm)
					want := m.cookie(i, value, maxAge, expires).String()
					if got != want {
						t.Errorf("chunk %d, Max-Age %d:\n got %s\nwant %s", i, maxAge, got, want)
					}
					if n := m.lineLen(i, len(value), &tm); n != len(want) {
						t.Errorf("chunk %d, Max-Age %d: lineLen %d, want %d", i, maxAge, n, len(want))
					}
				}
				if got, want := m.lines.deleted[i], m.cookie(i, "", -1, time.Unix(0, 0)).String(); got != want {
					t.Errorf("chunk %d deletion:\n got %s\nwant %s", i, got, want)
				}
			}
		})
	}
}
