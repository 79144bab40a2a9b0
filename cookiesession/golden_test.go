package cookiesession_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.json")

// golden pins the whole session cookie: payload encoding, sealing and
// cookie attributes. Any change to the wire format fails it.
type golden struct {
	Note      string `json:"note"`
	Secret    string `json:"secret"`     // hex; the published sample key 00..1f
	Seed      uint64 `json:"seed"`       // testing/cryptotest.SetGlobalRandom seed
	Clock     string `json:"clock"`      // RFC 3339
	Context   string `json:"context"`    // hex of the additional data after the header
	Payload   string `json:"payload"`    // hex of the CBOR payload
	SetCookie string `json:"set_cookie"` // the whole Set-Cookie value
}

const goldenNote = "Produced by TestGoldenCookie in cookiesession/golden_test.go (go test ./cookiesession -run TestGoldenCookie -update-golden): " +
	"key = the published sample secret, which crypto.NewKey refuses (the test builds it through internal/testhook), crypto/rand replaced by testing/cryptotest.SetGlobalRandom(seed) (it supplies the session ID, then the nonce), " +
	"clock fixed, default Config; the handler sets user=\"ann\", n=42, subject \"ann\" and one flash \"hi\". See docs/FORMAT.md."

func TestGoldenCookie(t *testing.T) {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i)
	}
	key, err := insecureKey(t, secret)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rotation.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m, err := cookiesession.New(cookiesession.Config{Keys: ring, Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	const seed = 1
	cryptotest.SetGlobalRandom(t, seed)

	s := m.Load(context.Background())
	if err := s.Set("user", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("n", 42); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubject("ann"); err != nil {
		t.Fatal(err)
	}
	if err := cookiesession.AddFlash(s, "hi"); err != nil {
		t.Fatal(err)
	}
	h, err := commitHeader(m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	setCookie := h.Get("Set-Cookie")
	c, err := http.ParseSetCookie(setCookie)
	if err != nil {
		t.Fatal(err)
	}
	adCtx := format.AdditionalData("crumb/v1/cookiesession", m.Name())
	sealed, err := decodeText(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := key.Open(nil, sealed, adCtx)
	if err != nil {
		t.Fatal(err)
	}
	got := golden{
		Note:      goldenNote,
		Secret:    hex.EncodeToString(secret),
		Seed:      seed,
		Clock:     clock.Format(time.RFC3339),
		Context:   hex.EncodeToString(adCtx),
		Payload:   hex.EncodeToString(payload),
		SetCookie: setCookie,
	}
	const path = "testdata/golden.json"
	if *updateGolden {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("golden cookie changed (a wire-format change needs a new format version):\n got %+v\nwant %+v", got, want)
	}

	// The golden cookie opens through the public API, with its data.
	s2 := m.Load(context.Background(), c.Name+"="+c.Value)
	if v, ok, err := cookiesession.Get[string](s2, "user"); err != nil || !ok || v != "ann" {
		t.Errorf("golden cookie: user = %q, %v, %v", v, ok, err)
	}
	if v, ok, err := cookiesession.Get[int](s2, "n"); err != nil || !ok || v != 42 {
		t.Errorf("golden cookie: n = %d, %v, %v", v, ok, err)
	}
	if f, err := cookiesession.Flashes[string](s2); err != nil || len(f) != 1 || f[0] != "hi" {
		t.Errorf("golden cookie: flashes = %q, %v", f, err)
	}
}
