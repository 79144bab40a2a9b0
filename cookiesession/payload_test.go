package cookiesession_test

// Tests of payload.go and cbor.go: what a session payload may contain,
// byte for byte (hostile payloads refused, canonical encoding, extension
// fields, the golden vector), and which values Set stores.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// Values that contain themselves, which would make the encoder recurse
// until the process dies.
type (
	selfPtr  struct{ Next *selfPtr }
	ptrLoop  *ptrLoop
	embedded struct {
		*embedded
		A int
	}
)

// TestSetRefusesUnstorable: Set (and SetData, AddFlash) refuse with
// ErrEncode, and without crashing, every value that would not come back
// as stored, and leave the session unchanged.
func TestSetRefusesUnstorable(t *testing.T) {
	t.Parallel()
	cyclicMap := map[string]any{}
	cyclicMap["self"] = cyclicMap
	cyclicSlice := []any{nil}
	cyclicSlice[0] = cyclicSlice
	loop := &selfPtr{}
	loop.Next = loop
	var pl ptrLoop
	pl = &pl
	emb := &embedded{A: 1}
	emb.embedded = emb
	var deep *selfPtr
	for range 1000 {
		deep = &selfPtr{Next: deep}
	}
	type private struct{ a, b int }
	type allSkipped struct {
		A int `cbor:"-"`
		b int
	}

	tests := []struct {
		name  string
		value any
	}{
		{"map containing itself", cyclicMap},
		{"slice containing itself", cyclicSlice},
		{"struct pointing to itself", loop},
		{"pointer to itself", pl},
		{"linked list 1000 deep", deep},
		{"nesting of 7 levels", [][][][][][][]int{{{{{{{1}}}}}}}},
		{"uint64 above int64", uint64(1 << 63)},
		{"uint64 max", uint64(math.MaxUint64)},
		{"uint above int64 in a map", map[string]uint64{"a": math.MaxUint64}},
		{"small big.Int", big.NewInt(5)},
		{"large big.Int", new(big.Int).Lsh(big.NewInt(1), 100)},
		{"big.Int by value", *big.NewInt(5)},
		{"struct with no exported fields", private{1, 2}},
		{"struct with every field skipped", allSkipped{A: 1, b: 2}},
		{"struct whose fields all hide each other", struct {
			ShapeA
			ShapeD
		}{ShapeA{1}, ShapeD{2}}},
		{"struct whose only field is json:\"-\"", struct {
			A int `json:"-"`
		}{1}},
		{"cycle through a tagged unexported embedded struct", func() any {
			type meta struct{ Parent any }
			type page struct {
				Title string
				meta  `cbor:"meta"`
			}
			p := &page{Title: "t"}
			p.meta.Parent = p
			return p
		}()},
		{"NaN", math.NaN()},
		{"infinity", math.Inf(1)},
		{"raw CBOR with a duplicate key", cbor.RawMessage{0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02}},
		{"raw CBOR out of order", cbor.RawMessage{0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02}},
		{"raw CBOR with invalid UTF-8", cbor.RawMessage{0x62, 'a', 0xff}},
		{"raw CBOR non-minimal", cbor.RawMessage{0x18, 0x01}},
		{"raw CBOR with a tag", cbor.RawMessage{0xc1, 0x01}},
		{"raw CBOR two items", cbor.RawMessage{0x01, 0x02}},
		{"a channel", make(chan int)},
		{"a func", func() {}},
	}
	h := newManager(t, cookiesession.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.load()
			stores := map[string]func() error{
				"Set":      func() error { return s.Set("k", tt.value) },
				"SetData":  func() error { return cookiesession.SetData(s, tt.value) },
				"AddFlash": func() error { return cookiesession.AddFlash(s, tt.value) },
			}
			for name, store := range stores {
				if err := store(); !errors.Is(err, cookiesession.ErrEncode) {
					t.Errorf("%s = %v, want ErrEncode", name, err)
				}
			}
			if s.Modified() || s.Len() != 0 {
				t.Errorf("refused values changed the session")
			}
		})
	}
}

// TestSetAcceptsStorable: the edges of what may be stored, which all come
// back, through Get and through Items.
func TestSetAcceptsStorable(t *testing.T) {
	t.Parallel()
	type inner struct{ X int }
	type withEmbedded struct {
		inner
		Y int
	}
	type marker struct{}
	when := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	emb := &embedded{A: 1}
	emb.embedded = emb // not encoded: the encoder does not promote a type into itself
	type meta struct{ Parent *meta }
	type tagged struct {
		meta  `cbor:"meta"` // an unexported embedded type with a name: a field like any other
		Title string
	}
	tests := []struct {
		name  string
		value any
	}{
		{"embedded struct pointing to itself", emb},
		{"tagged unexported embedded struct", tagged{meta{&meta{}}, "t"}},
		{"nil slices at the depth limit", [][][][][]map[string][]int{{{{{{"a": nil}}}}}}},
		{"largest int64 as uint64", uint64(math.MaxInt64)},
		{"smallest int64", int64(math.MinInt64)},
		{"empty struct", marker{}},
		{"embedded struct", withEmbedded{inner{1}, 2}},
		{"time", when},
		{"nesting of 6 levels", [][][][][][]int{{{{{{1}}}}}}},
		{"shared, not cyclic", func() []*inner { p := &inner{1}; return []*inner{p, p, p} }()},
		{"raw CBOR", cbor.RawMessage{0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x02}},
		{"float32", float32(1.5)},
		{"negative zero", math.Copysign(0, -1)},
		{"smallest double", math.SmallestNonzeroFloat64},
	}
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	for _, tt := range tests {
		if err := s.Set(tt.name, tt.value); err != nil {
			t.Errorf("Set(%s) = %v", tt.name, err)
		}
	}
	back := h.load(h.save(s))
	if n := back.Len(); n != len(tests) {
		t.Errorf("reopened session has %d keys, want %d", n, len(tests))
	}
	if _, err := back.Items(); err != nil {
		t.Errorf("Items = %v", err)
	}
	if got, _, err := cookiesession.Get[time.Time](back, "time"); err != nil || !got.Equal(when) {
		t.Errorf("Get(time) = %v, %v; want %v", got, err, when)
	}
	if got, _, err := cookiesession.Get[uint64](back, "largest int64 as uint64"); err != nil || got != math.MaxInt64 {
		t.Errorf("Get(uint64) = %v, %v", got, err)
	}
}

// TestFloatsRoundTrip: every float is stored in the shortest of half,
// single and double precision that holds it exactly, and comes back
// bit for bit; the reader refuses any longer form of the same value.
func TestFloatsRoundTrip(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	r := rand.New(rand.NewPCG(1, 2))
	values := []float64{0, math.Copysign(0, -1), 1, -2.5, 65504, 65505, 1e300, math.SmallestNonzeroFloat64,
		math.Ldexp(1, -24), math.Ldexp(3, -24), math.Ldexp(1, -25), math.Ldexp(1, -149), math.MaxFloat32, math.MaxFloat64}
	for range 2000 {
		bits := r.Uint64()
		switch r.IntN(3) {
		case 0: // a random double
		case 1: // a random single
			bits = math.Float64bits(float64(math.Float32frombits(uint32(bits))))
		default: // a random half, built from its fields
			bits = math.Float64bits(math.Ldexp(float64(bits&0x3ff|0x400), int(bits>>10&0x1f)-25))
		}
		if f := math.Float64frombits(bits); !math.IsNaN(f) && !math.IsInf(f, 0) {
			values = append(values, f)
		}
	}
	s := h.load()
	for _, f := range values {
		if err := s.Set("f", f); err != nil {
			t.Fatalf("Set(%v) = %v", f, err)
		}
		got, _, err := cookiesession.Get[float64](s, "f")
		if err != nil || math.Float64bits(got) != math.Float64bits(f) {
			t.Fatalf("float %v (%x) came back as %v (%x), %v", f, math.Float64bits(f), got, math.Float64bits(got), err)
		}
		raw, _, _ := cookiesession.Get[cbor.RawMessage](s, "f")
		// Any longer encoding of the same value is refused.
		for _, longer := range longerFloats(f, len(raw)) {
			if err := s.Set("x", cbor.RawMessage(longer)); !errors.Is(err, cookiesession.ErrEncode) {
				t.Fatalf("float %v stored as %x (shortest is %x): %v, want ErrEncode", f, longer, raw, err)
			}
		}
	}
	// And through a cookie, which the reader checks again.
	s = h.load()
	_ = s.Set("floats", values[:14])
	back := h.load(h.save(s))
	if got, _, err := cookiesession.Get[[]float64](back, "floats"); err != nil || len(got) != 14 || math.Signbit(got[1]) != true {
		t.Errorf("floats through a cookie = %v, %v", got, err)
	}
}

// longerFloats returns the encodings of f in the float widths longer than
// n bytes that hold it exactly.
func longerFloats(f float64, n int) [][]byte {
	var out [][]byte
	if n < 5 && float64(float32(f)) == f {
		b := math.Float32bits(float32(f))
		out = append(out, []byte{0xfa, byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
	}
	if n < 9 {
		b := math.Float64bits(f)
		out = append(out, []byte{0xfb, byte(b >> 56), byte(b >> 48), byte(b >> 40), byte(b >> 32), byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
	}
	return out
}

// TestSetRefusesHugeValuesQuickly: a value that shares its parts many
// times over, small in memory but gigabytes once encoded, is refused with
// ErrTooLarge before the encoder runs.
func TestSetRefusesHugeValuesQuickly(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 20000)
	shared := make([]string, 50000)
	for i := range shared {
		shared[i] = big
	}
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	start := time.Now()
	if err := s.Set("k", shared); !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Errorf("Set(50,000 × 20 kB) = %v, want ErrTooLarge", err)
	}
	// A generous bound, far below the seconds and gigabytes encoding takes.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %v", d)
	}
}

// TestExtensionFieldsSurviveAnOlderReader plays a rolling upgrade: a later
// version of crumb writes extension fields (keys 16 to 63) that this
// version does not know. This version opens such a cookie, ignores the
// fields, and keeps them, byte for byte and in order, when it seals the
// session again, so a newer instance reading that cookie finds them. A key
// in the core range this version does not know (10 to 15), or outside both
// ranges (64 and up), is refused.
func TestExtensionFieldsSurviveAnOlderReader(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	ext := []kv{
		{cborUint(16), cborText("from a later version")},
		{cborUint(40), cborMap(kv{cborText("a"), cborUint(1)})},
		{cborUint(63), []byte{0xf6}},
	}
	newer := cborMap(append(basePayload(), ext...)...)
	v := sealPayload(t, h.m, h.ring, newer)

	s := h.load(v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 || s.Err() != nil {
		t.Fatalf("a newer writer's cookie: n = %d, %v, Err %v; want it opened", n, ok, s.Err())
	}
	_ = s.Set("m", 2)
	again := h.save(s)
	pt := openPayload(t, h, again)
	var tail []byte
	for _, f := range ext {
		tail = append(append(tail, f.k...), f.v...)
	}
	if !bytes.HasSuffix(pt, tail) {
		t.Errorf("re-sealed payload %x does not end with the extension fields %x", pt, tail)
	}
	// Clear empties the session, extensions included.
	s = h.load(again)
	s.Clear()
	if pt := openPayload(t, h, h.save(s)); bytes.Contains(pt, cborText("from a later version")) {
		t.Errorf("Clear kept the extension fields: %x", pt)
	}

	for name, key := range map[string]uint64{"unknown core key 10": 10, "unknown core key 15": 15, "key 64": 64, "key 1000": 1000} {
		p := cborMap(append(basePayload(), kv{cborUint(key), cborUint(1)})...)
		if s := h.load(sealPayload(t, h.m, h.ring, p)); s.Len() != 0 || !errors.Is(s.Err(), cookiesession.ErrInvalid) {
			t.Errorf("%s: opened (%d keys), Err %v; want ErrInvalid", name, s.Len(), s.Err())
		}
	}
	// Extension values follow the rules of every value.
	for name, value := range map[string][]byte{
		"non-canonical": {0x18, 0x01},
		"too deep":      nest(7),
		"a tag":         {0xc1, 0x01},
	} {
		p := cborMap(append(basePayload(), kv{cborUint(20), value})...)
		if s := h.load(sealPayload(t, h.m, h.ring, p)); s.Len() != 0 {
			t.Errorf("extension value %s opened", name)
		}
	}
	h.errs.take()
}

// openPayload decrypts a session cookie of h and returns its payload.
func openPayload(t testing.TB, h *harness, value string) []byte {
	t.Helper()
	sealed, err := decodeText(value)
	if err != nil {
		t.Fatal(err)
	}
	pt, _, err := h.ring.Open(nil, sealed, adOf(h.m))
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// TestPayloadIsCanonical: what crumb writes is core deterministic CBOR, as
// docs/FORMAT.md requires: the cbor library decodes it (duplicate keys
// refused) and re-encodes it to the same bytes. Data keys of every length
// class (their heads sort shorter keys first) and every field are covered.
func TestPayloadIsCanonical(t *testing.T) {
	t.Parallel()
	dec, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, IntDec: cbor.IntDecConvertNone}.DecMode()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	for _, k := range []string{"b", "a", "", "ab", strings.Repeat("z", 23), strings.Repeat("y", 24), strings.Repeat("x", 255), strings.Repeat("w", 256), "é"} {
		if err := s.Set(k, map[string]any{k: []any{1, -1, 1.5, "x", true, nil}}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.SetSubject("ann")
	_ = cookiesession.SetData(s, struct{ A int }{7})
	_ = cookiesession.AddFlash(s, "hi")
	s.SetExpiry(cookiesession.IdleFor(time.Hour))
	pt := openPayload(t, h, h.save(s))
	var v any
	if err := dec.Unmarshal(pt, &v); err != nil {
		t.Fatalf("the cbor library refuses crumb's payload %x: %v", pt, err)
	}
	if again, err := enc.Marshal(v); err != nil || !bytes.Equal(again, pt) {
		t.Errorf("payload %x is not canonical: re-encoded as %x (%v)", pt, again, err)
	}
}

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
	// Chunked is the same session (same ID, nonce and payload) saved with
	// MaxChunks 3 and MaxCookieSize 200: the Set-Cookie values of the
	// session cookie and its chunks, in order.
	Chunked []string `json:"chunked_set_cookie"`
}

const goldenNote = "Produced by TestPayloadGolden in cookiesession/payload_test.go (go test ./cookiesession -run TestPayloadGolden -update-golden): " +
	"key = the published sample secret, which crypto.NewKey refuses (the test builds it through internal/testhook), crypto/rand replaced by testing/cryptotest.SetGlobalRandom(seed) (it supplies the session ID, then the nonce), " +
	"clock fixed, default Config; the handler sets user=\"ann\", n=42, subject \"ann\" and one flash \"hi\". " +
	"chunked_set_cookie is the same session (seed set again) saved with MaxChunks 4 and MaxCookieSize 180. See docs/FORMAT.md."

func TestPayloadGolden(t *testing.T) {
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
	// save saves the golden session with m, from the seeded randomness.
	save := func(m *cookiesession.Manager) []string {
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
		return sentBy(t, m, h).lines
	}
	setCookie := save(m)[0]
	mc, err := cookiesession.New(cookiesession.Config{Keys: ring, Clock: func() time.Time { return clock }, MaxChunks: 4, MaxCookieSize: 180})
	if err != nil {
		t.Fatal(err)
	}
	chunkedLines := save(mc)
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
		Chunked:   chunkedLines,
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
	if !reflect.DeepEqual(got, want) {
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
	// So does the chunked one, to the same payload, in 3 cookies.
	if len(chunkedLines) != 3 {
		t.Fatalf("chunked golden session in %d cookies, want 3", len(chunkedLines))
	}
	var pairs []string
	for _, line := range chunkedLines {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	s3 := mc.Load(context.Background(), strings.Join(pairs, "; "))
	if v, ok, err := cookiesession.Get[string](s3, "user"); err != nil || !ok || v != "ann" || s3.ID() != s2.ID() {
		t.Errorf("chunked golden cookie: user = %q, %v, %v; ID equal %v", v, ok, err, s3.ID() == s2.ID())
	}
}

// TestPayloadSetRefusesWhatGetCannotReturn checks that Set refuses a value that
// would not decode back into its own type, and leaves the session as it
// was.
func TestPayloadSetRefusesWhatGetCannotReturn(t *testing.T) {
	t.Parallel()
	m, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Load(context.Background())
	for _, v := range []any{"\xff", []string{"ok", "\xfe"}, map[string]string{"\xff": "k"}, struct{ S string }{"\xff"}} {
		if err := s.Set("k", v); !errors.Is(err, cookiesession.ErrEncode) {
			t.Errorf("Set(%q) = %v, want ErrEncode", v, err)
		}
	}
	if s.Modified() || s.Has("k") {
		t.Errorf("refused values changed the session: modified %v, has %v", s.Modified(), s.Has("k"))
	}
}

// textMarshaled encodes itself as a text string, which does not decode
// back into it: a type that encodes itself is always decoded back before
// it is stored.
type textMarshaled struct{ N int }

func (textMarshaled) MarshalCBOR() ([]byte, error) { return cbor.Marshal("n") }

// listNode is a recursive type of plain parts.
type listNode struct {
	V    int
	Next *listNode
}

// TestPayloadStoredValuesComeBack checks that values of every plain shape
// (which Set stores without decoding them back first) come back from Get
// as they were stored, and that a type that encodes itself is still
// decoded back, and refused when that fails.
func TestPayloadStoredValuesComeBack(t *testing.T) {
	t.Parallel()
	m, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	type inner struct {
		A int8  `cbor:"1,keyasint"`
		B []int `cbor:"2,keyasint,omitempty"`
	}
	type outer struct {
		Name   string `json:"name"`
		In     inner
		Ptr    *inner
		Arr    [3]uint16
		Bytes  []byte
		Fixed  [4]byte
		ByID   map[int64]string
		Nested map[string][]map[string]bool
		F32    float32
	}
	for _, tc := range []struct {
		name string
		v    any
		get  func(*cookiesession.Session) (any, error)
	}{
		{"int8 min", int8(-128), getAs[int8]},
		{"uint64 max int", uint64(1<<63 - 1), getAs[uint64]},
		{"float32", float32(0.1), getAs[float32]},
		{"subnormal half", 5.960464477539063e-08, getAs[float64]},
		{"nil slice", []string(nil), getAs[[]string]},
		{"empty slice", []string{}, getAs[[]string]},
		{"struct", outer{Name: "n", In: inner{A: -1, B: []int{1}}, Ptr: &inner{A: 2}, Arr: [3]uint16{1, 2, 65535},
			Bytes: []byte{0, 255}, Fixed: [4]byte{1, 2, 3, 4}, ByID: map[int64]string{-1: "a", 1 << 40: "b"},
			Nested: map[string][]map[string]bool{"x": {{"t": true}}}, F32: 1.5}, getAs[outer]},
		{"list", &listNode{1, &listNode{2, nil}}, getAs[*listNode]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := m.Load(context.Background())
			if err := s.Set("k", tc.v); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := tc.get(s)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !reflect.DeepEqual(got, tc.v) {
				t.Errorf("Get = %#v, want %#v", got, tc.v)
			}
		})
	}
	s := m.Load(context.Background())
	if err := s.Set("k", textMarshaled{1}); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("Set(a type that does not decode back) = %v, want ErrEncode", err)
	}
	cycle := &listNode{V: 1}
	cycle.Next = cycle
	if err := s.Set("k", cycle); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("Set(a cycle) = %v, want ErrEncode", err)
	}
}

// getAs reads key "k" as a T.
func getAs[T any](s *cookiesession.Session) (any, error) {
	v, ok, err := cookiesession.Get[T](s, "k")
	if err == nil && !ok {
		err = errors.New("not set")
	}
	return v, err
}

// Django test_decode_serializer_exception and
// test_unpickling_exception: an authentic envelope whose payload does not
// decode gives an empty session, no error to the handler, and one
// ErrInvalid report for a bad payload.
func TestUndecodablePayload(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	now := h.now().UnixNano()
	hour := int64(time.Hour)
	id := bytes.Repeat([]byte{0x5a}, 16)
	fields := func(edit func(map[int]any)) []byte {
		m := map[int]any{1: id, 2: now, 3: now, 4: now + hour, 7: map[string]any{"foo": "bar"}}
		if edit != nil {
			edit(m)
		}
		return mustCBOR(t, m)
	}

	// The control: a well-formed payload sealed this way opens.
	good := h.load(h.sealRaw(fields(nil)))
	wantString(t, good, "foo", "bar")
	h.wantErrors()

	base := fields(nil) // a map of 5 pairs: first byte 0xa5
	dup := append([]byte{0xa6}, base[1:]...)
	dup = append(append(dup, mustCBOR(t, 1)...), mustCBOR(t, id)...)
	indef := append(append([]byte{0xbf}, base[1:]...), 0xff)

	for name, pt := range map[string][]byte{
		"empty":             {},
		"not CBOR":          []byte("{\"foo\":\"bar\"}"),
		"truncated":         base[:len(base)-1],
		"trailing byte":     append(bytes.Clone(base), 0x00),
		"array":             mustCBOR(t, []any{id, now, now, now + hour}),
		"text keys":         mustCBOR(t, map[string]any{"1": id, "2": now, "3": now, "4": now + hour}),
		"duplicate key":     dup,
		"indefinite length": indef,
		"unknown field":     fields(func(m map[int]any) { m[99] = 1 }),
		"short ID":          fields(func(m map[int]any) { m[1] = id[:8] }),
		"text ID":           fields(func(m map[int]any) { m[1] = "0123456789abcdef" }),
		"no ID":             fields(func(m map[int]any) { delete(m, 1) }),
		"issued after save": fields(func(m map[int]any) { m[2] = now + 1 }),
		"saved after end":   fields(func(m map[int]any) { m[3] = now + 2*hour }),
		"saved at the end":  fields(func(m map[int]any) { m[3], m[4] = now+hour, now+hour }),
		"negative time":     fields(func(m map[int]any) { m[2] = -1 }),
		"bad expiry kind":   fields(func(m map[int]any) { m[5] = []any{9, 0} }),
		"data not a map":    fields(func(m map[int]any) { m[7] = []any{"foo", "bar"} }),
		"tagged value":      fields(func(m map[int]any) { m[7] = map[string]any{"t": cbor.Tag{Number: 1, Content: now}} }),
		"too deep":          fields(func(m map[int]any) { m[7] = map[string]any{"d": [][][][][][][]int{{{{{{{1}}}}}}}} }),
	} {
		s := h.load(h.sealRaw(pt))
		got, ok, err := cookiesession.Get[string](s, "foo")
		if ok || err != nil {
			t.Errorf("%s: Get(foo) = %q, %v, %v, want \"\", false, nil", name, got, ok, err)
		}
		if n, id := s.Len(), s.ID(); n != 0 || id != "" {
			t.Errorf("%s: Len(), ID() = %d, %q, want 0, \"\"", name, n, id)
		}
		errs := h.errs.take()
		if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
			t.Errorf("%s: logged %v, want exactly one ErrInvalid", name, errs)
			continue
		}
		if r := crypto.ReasonOf(errs[0]); r != crypto.ReasonPayload {
			t.Errorf("%s: reason %v, want %v (the envelope is authentic)", name, r, crypto.ReasonPayload)
		}
	}
}

// Django test_decode and signing's test_sign_unsign,
// test_dumps_loads and test_sign_unsign_object: values with separators,
// non-ASCII text, lists and maps round-trip exactly, and the cookie never
// contains the plaintext. Django compresses large payloads; crumb seals
// them as they are, so a large repetitive value stands for that variant.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	type nested struct {
		Name string
		Tags []string
		Sub  map[string][]int
	}
	values := map[string]any{
		"colons":   "jkl:mno:pqr:stu",
		"unicode":  "jaźń 東京 café 🍪 \u2019quotes\u2019",
		"control":  "tab\tnewline\nnul\x00end;semi,comma \"quote\"",
		"list":     []string{"first-item", "second-item", "a:b"},
		"map":      map[string]string{"inner-key": "inner-value", "colon:key": "x"},
		"nested":   nested{Name: "nested-name", Tags: []string{"tag-one"}, Sub: map[string][]int{"k": {1, 2, 3}}},
		"repeated": strings.Repeat("x", 200),
		"empty":    "",
	}
	h := newManager(t, cookiesession.Config{})
	value := h.seed(values)
	s := h.load(value)

	check := func(key string, got any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, values[key]) {
			t.Errorf("Get(%q) = %#v, %v, want %#v, nil", key, got, err, values[key])
		}
	}
	for _, k := range []string{"colons", "unicode", "control", "repeated", "empty"} {
		v, _, err := cookiesession.Get[string](s, k)
		check(k, v, err)
	}
	l, _, err := cookiesession.Get[[]string](s, "list")
	check("list", l, err)
	m, _, err := cookiesession.Get[map[string]string](s, "map")
	check("map", m, err)
	n, _, err := cookiesession.Get[nested](s, "nested")
	check("nested", n, err)

	sealed, err := decodeText(value)
	if err != nil {
		t.Fatalf("decodeText(cookie) error = %v", err)
	}
	for _, plain := range []string{"jkl:mno:pqr:stu", "東京", "café", "first-item", "inner-value", "nested-name", "xxxxxxxx", "colon:key"} {
		if strings.Contains(value, plain) || bytes.Contains(sealed, []byte(plain)) {
			t.Errorf("cookie contains the plaintext %q", plain)
		}
	}
}

// Django's signing test_sign_unsign_non_string, and the limits of
// Django's JSON: ints, floats, bools, bytes, times and integer map keys
// keep their types through the cookie (Django turns key 0 into "0" and
// rejects datetimes).
func TestTypedValues(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, time.February, 29, 23, 59, 58, 123456789, time.FixedZone("X", 5*3600+1800))
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	for k, v := range map[string]any{
		"int": -42, "big": int64(1) << 60, "float": 1.5, "bool": true, "bytes": []byte{0, 1, 0xfe, 0xff},
		"time": when, "intkeys": map[int]string{0: "zero", -7: "minus seven"},
	} {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("Set(%q, %#v) error = %v", k, v, err)
		}
	}
	s = h.load(h.save(s))

	if v, _, err := cookiesession.Get[int](s, "int"); v != -42 || err != nil {
		t.Errorf(`Get[int]("int") = %v, %v, want -42, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[int64](s, "big"); v != 1<<60 || err != nil {
		t.Errorf(`Get[int64]("big") = %v, %v, want %v, nil`, v, err, int64(1)<<60)
	}
	if v, _, err := cookiesession.Get[float64](s, "float"); v != 1.5 || err != nil {
		t.Errorf(`Get[float64]("float") = %v, %v, want 1.5, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[bool](s, "bool"); !v || err != nil {
		t.Errorf(`Get[bool]("bool") = %v, %v, want true, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[[]byte](s, "bytes"); !bytes.Equal(v, []byte{0, 1, 0xfe, 0xff}) || err != nil {
		t.Errorf(`Get[[]byte]("bytes") = %x, %v, want 0001feff, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[time.Time](s, "time"); !v.Equal(when) || err != nil {
		t.Errorf(`Get[time.Time]("time") = %v, %v, want %v, nil`, v, err, when)
	}
	want := map[int]string{0: "zero", -7: "minus seven"}
	if v, _, err := cookiesession.Get[map[int]string](s, "intkeys"); !reflect.DeepEqual(v, want) || err != nil {
		t.Errorf(`Get[map[int]string]("intkeys") = %v, %v, want %v, nil`, v, err, want)
	}
	// Generic decoding keeps the scalar kinds apart too.
	items := map[string]any{}
	for _, k := range []string{"int", "float", "bool", "bytes"} {
		v, _, err := cookiesession.Get[any](s, k)
		if err != nil {
			t.Fatalf("Get[any](%q) error = %v", k, err)
		}
		items[k] = v
	}
	wantItems := map[string]any{"int": int64(-42), "float": 1.5, "bool": true, "bytes": []byte{0, 1, 0xfe, 0xff}}
	if !reflect.DeepEqual(items, wantItems) {
		t.Errorf("Get[any] = %#v, want %#v", items, wantItems)
	}
}

func TestPayloadHostile(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	epoch := uint64(t0.UnixNano())
	indefinite := []byte{0xbf}
	for _, kv := range basePayload() {
		indefinite = append(append(indefinite, kv.k...), kv.v...)
	}
	indefinite = append(indefinite, 0xff)

	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"not a map", cborArray()},
		{"duplicate map key", cborMap(append(basePayload(), field(2, cborUint(epoch)))...)},
		{"duplicate data key", cborMap(withField(7, cborMap(kv{cborText("n"), cborUint(1)}, kv{cborText("n"), cborUint(2)}))...)},
		{"unknown field 99", cborMap(append(basePayload(), field(99, cborUint(0)))...)},
		{"text field key", cborMap(append(basePayload(), kv{cborText("1"), cborBytes(payloadID)})...)},
		{"indefinite-length map", indefinite},
		{"indefinite-length data map", cborMap(withField(7, []byte{0xbf, 0x61, 'n', 0x01, 0xff})...)},
		{"indefinite-length text", cborMap(withField(6, []byte{0x7f, 0x61, 'a', 0xff})...)},
		{"indefinite-length value", cborMap(withField(7, dataWith([]byte{0x9f, 0x01, 0xff}))...)},
		{"tag 55799 wrapping the payload", append([]byte{0xd9, 0xd9, 0xf7}, cborMap(basePayload()...)...)},
		{"bignum tag in data", cborMap(withField(7, dataWith([]byte{0xc2, 0x41, 0x01}))...)},
		{"epoch tag in data", cborMap(withField(7, dataWith(append([]byte{0xc1}, cborUint(epoch)...)))...)},
		{"tag on a time field", cborMap(withField(2, append([]byte{0xc1}, cborUint(epoch)...))...)},
		{"nesting past the limit", cborMap(withField(7, dataWith(nest(7)))...)},
		{"nesting past the limit in flashes", cborMap(withField(9, cborArray(nest(7)))...)},
		{"NaN half", cborMap(withField(7, dataWith([]byte{0xf9, 0x7e, 0x00}))...)},
		{"NaN double with payload", cborMap(withField(7, dataWith([]byte{0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}))...)},
		{"+Inf", cborMap(withField(7, dataWith([]byte{0xf9, 0x7c, 0x00}))...)},
		{"-Inf single", cborMap(withField(7, dataWith([]byte{0xfa, 0xff, 0x80, 0x00, 0x00}))...)},
		{"trailing byte", append(cborMap(basePayload()...), 0x00)},
		{"trailing payload", append(cborMap(basePayload()...), cborMap(basePayload()...)...)},
		{"invalid UTF-8 subject", cborMap(withField(6, []byte{0x62, 'a', 0xff})...)},
		{"invalid UTF-8 data key", cborMap(withField(7, cborMap(kv{[]byte{0x61, 0xff}, cborUint(1)}))...)},
		{"truncated", cborMap(basePayload()...)[:20]},
		{"ID of 15 bytes", cborMap(withField(1, cborBytes(payloadID[:15]))...)},
		{"ID of 17 bytes", cborMap(withField(1, cborBytes(append(slices.Clone(payloadID), 'x')))...)},
		{"no ID", cborMap(withField(1, nil)...)},
		{"ID as text", cborMap(withField(1, cborText(string(payloadID)))...)},
		{"IssuedAt after SavedAt", cborMap(withField(2, cborUint(epoch+1))...)},
		{"SavedAt after Deadline", cborMap(withField(3, cborUint(epoch+hourNS+1))...)},
		{"SavedAt at Deadline", cborMap(withField(3, cborUint(epoch+hourNS))...)},
		{"negative time", cborMap(withField(2, []byte{0x20})...)},
		{"time as text", cborMap(withField(2, cborText("2026-03-01T12:00:00Z"))...)},
		{"time overflowing int64", cborMap(withField(2, cborUint(math.MaxUint64))...)},
		{"time as float", cborMap(withField(2, []byte{0xfb, 0x41, 0xda, 0, 0, 0, 0, 0, 0})...)},
		{"expiry kind 0", cborMap(withField(5, cborArray(cborUint(0), cborUint(0)))...)},
		{"expiry kind 4 (ExpiresIn, never on the wire)", cborMap(withField(5, cborArray(cborUint(4), cborUint(60)))...)},
		{"expiry kind 9", cborMap(withField(5, cborArray(cborUint(9), cborUint(0)))...)},
		{"expiry kind 256", cborMap(withField(5, cborArray(cborUint(256), cborUint(0)))...)},
		{"browser-close expiry with a value", cborMap(withField(5, cborArray(cborUint(1), cborUint(5)))...)},
		{"expiry with three elements", cborMap(withField(5, cborArray(cborUint(2), cborUint(60), cborUint(0)))...)},
		{"expiry not an array", cborMap(withField(5, cborUint(2))...)},
		{"expiry kind as text", cborMap(withField(5, cborArray(cborText("2"), cborUint(60)))...)},
		{"expiry value negative", cborMap(withField(5, cborArray(cborUint(2), []byte{0x20}))...)},
		{"huge declared array", cborMap(withField(9, []byte{0x9b, 0x00, 0x00, 0x42, 0xfa, 0x42, 0xfa, 0x42, 0xfa})...)},
		{"huge declared map", cborMap(withField(7, []byte{0xbb, 0x00, 0x00, 0x42, 0xfa, 0x42, 0xfa, 0x42, 0xfa})...)},
		{"ill-formed two-byte simple value", cborMap(withField(7, dataWith([]byte{0xf8, 0x10}))...)},
		{"break outside indefinite", cborMap(withField(7, dataWith([]byte{0xff}))...)},

		// Core deterministic encoding is required at every level, so that
		// every accepted payload has exactly one encoding.
		{"non-minimal integer head in a time", cborMap(withField(2, []byte{0x1b, 0, 0, 0, 0, 0, 0, 0, 1})...)},
		{"non-minimal integer head in a value", cborMap(withField(7, dataWith([]byte{0x18, 0x01}))...)},
		{"non-minimal length head", cborMap(withField(6, []byte{0x78, 0x01, 'a'})...)},
		{"payload keys out of order", cborMap(append([]kv{basePayload()[1], basePayload()[0]}, basePayload()[2:]...)...)},
		{"data keys out of order", cborMap(withField(7, cborMap(kv{cborText("n"), cborUint(1)}, kv{cborText("a"), cborUint(1)}))...)},
		{"value map keys out of order", cborMap(withField(7, dataWith(cborMap(kv{cborText("b"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"non-shortest float", cborMap(withField(7, dataWith([]byte{0xfa, 0x3f, 0xc0, 0x00, 0x00}))...)},        // 1.5 as single
		{"non-shortest double", cborMap(withField(7, dataWith([]byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}))...)}, // 1.5 as double

		// Values: the subset every level shares.
		{"invalid UTF-8 in a value", cborMap(withField(7, dataWith([]byte{0x62, 'a', 0xff}))...)},
		{"duplicate key in a value", cborMap(withField(7, dataWith(cborMap(kv{cborText("a"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"duplicate key in a flash", cborMap(withField(9, cborArray(cborMap(kv{cborText("a"), cborUint(1)}, kv{cborText("a"), cborUint(2)})))...)},
		{"duplicate key in the typed value", cborMap(withField(8, cborMap(kv{cborUint(1), cborUint(1)}, kv{cborUint(1), cborUint(2)}))...)},
		{"invalid UTF-8 in the typed value", cborMap(withField(8, []byte{0x62, 'a', 0xff})...)},
		{"integer above int64", cborMap(withField(7, dataWith(cborUint(1<<63)))...)},
		{"integer below int64", cborMap(withField(7, dataWith(append([]byte{0x3b}, 0x80, 0, 0, 0, 0, 0, 0, 0)))...)},
		{"undefined", cborMap(withField(7, dataWith([]byte{0xf7}))...)},
		{"simple value 0", cborMap(withField(7, dataWith([]byte{0xe0}))...)},
		{"simple value 255", cborMap(withField(7, dataWith([]byte{0xf8, 0xff}))...)},
		{"array as map key", cborMap(withField(7, dataWith(cborMap(kv{cborArray(), cborUint(1)})))...)},
		{"map as map key", cborMap(withField(7, dataWith(cborMap(kv{cborMap(), cborUint(1)})))...)},
		{"typed value nesting past the limit", cborMap(withField(8, nest(7))...)},

		// Fields 5 to 9 are absent when empty, never present and empty.
		{"empty subject", cborMap(withField(6, cborText(""))...)},
		{"empty data map", cborMap(withField(7, cborMap())...)},
		{"empty flashes", cborMap(withField(9, cborArray())...)},
		{"idle expiry of zero", cborMap(withField(5, cborArray(cborUint(2), cborUint(0)))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := sealPayload(t, e.m, e.ring, tt.payload)
			s := e.load(v)
			if n := s.Len(); n != 0 || s.ID() != "" {
				t.Errorf("payload %x opened: %d keys, ID %q", tt.payload, n, s.ID())
			}
			errs := e.errs.take()
			if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) || crypto.ReasonOf(errs[0]) != crypto.ReasonPayload {
				t.Errorf("payload %x reported %v, want one ErrInvalid with ReasonPayload", tt.payload, errs)
			}
			if errs[0].Error() != crypto.ErrInvalid.Error() {
				t.Errorf("error text %q differs from the uniform %q", errs[0], crypto.ErrInvalid)
			}
		})
	}
}

// TestPayloadAccepted checks the other side: the limits of the subset
// are accepted, and the typed value nests as deep as any other value.
func TestPayloadAccepted(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"control", cborMap(basePayload()...)},
		{"value nesting at the limit", cborMap(withField(7, dataWith(nest(6)))...)},
		{"flash nesting at the limit", cborMap(withField(9, cborArray(nest(6)))...)},
		{"typed value nesting at the limit", cborMap(withField(8, nest(6))...)},
		{"typed value null", cborMap(withField(8, []byte{0xf6})...)},
		{"largest integer", cborMap(withField(7, dataWith(cborUint(1<<63-1)))...)},
		{"smallest integer", cborMap(withField(7, dataWith(append([]byte{0x3b}, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)))...)},
		{"half float", cborMap(withField(7, dataWith([]byte{0xf9, 0x3e, 0x00}))...)},
		{"single float", cborMap(withField(7, dataWith([]byte{0xfa, 0x47, 0x7f, 0xe1, 0x00}))...)},                         // 65505
		{"double float", cborMap(withField(7, dataWith([]byte{0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}))...)}, // 0.1
		{"int, text and bytes map keys in order", cborMap(withField(7, dataWith(cborMap(
			kv{cborUint(1), cborUint(1)}, kv{cborBytes([]byte("a")), cborUint(2)}, kv{cborText("a"), cborUint(3)})))...)},
		{"subject and expiry", cborMap(append(basePayload()[:4], field(5, cborArray(cborUint(2), cborUint(hourNS))),
			field(6, cborText("ann")), basePayload()[4])...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.load(sealPayload(t, e.m, e.ring, tt.payload))
			if s.ID() == "" {
				t.Fatalf("payload %x rejected: %v", tt.payload, e.errs.take())
			}
			if _, err := s.Items(); err != nil {
				t.Errorf("Items = %v", err)
			}
			if _, err := cookiesession.Data[any](s); err != nil {
				t.Errorf("Data = %v", err)
			}
			if _, err := cookiesession.Flashes[any](s); err != nil {
				t.Errorf("Flashes = %v", err)
			}
		})
	}
}

func TestPayloadDeterministic(t *testing.T) {
	// Not parallel: SetGlobalRandom makes crypto/rand (the session ID and
	// the nonce) deterministic for the whole process.
	e := newHarness(t, nil)
	values := map[string]any{
		"a": 1, "bb": "two", "c": []int{3, 4}, "d": map[string]int{"z": 1, "y": 2, "x": 3},
		"e": 1.5, "f": true, "g": []byte{1, 2}, "zz": nil, "B": -7,
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	})
	seal := func(order []string, update bool) string {
		cryptotest.SetGlobalRandom(t, 42)
		return e.saveWith(func(s *cookiesession.Session) {
			if update { // in Go's random map order
				for k, v := range values {
					if err := s.Set(k, v); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			for _, k := range order {
				if err := s.Set(k, values[k]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SetSubject("alice"); err != nil {
				t.Fatal(err)
			}
			_ = cookiesession.AddFlash(s, "hi")
		})
	}
	first := seal(keys, false)
	reversed := slices.Clone(keys)
	slices.Reverse(reversed)
	if got := seal(reversed, false); got != first {
		t.Errorf("reverse insertion order gave a different cookie")
	}
	for i := range 1000 {
		if got := seal(keys, false); got != first {
			t.Fatalf("run %d gave a different cookie", i)
		}
	}
	// Update ranges over a Go map, in random order; the plaintext is the
	// same every time.
	u := seal(nil, true)
	for i := range 50 {
		if got := seal(nil, true); got != u {
			t.Fatalf("Update run %d gave a different cookie", i)
		}
	}
}

func TestPayloadSetRejects(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	s := e.load()
	if err := s.Set("keep", 1); err != nil {
		t.Fatal(err)
	}
	deep := any(1)
	for range 7 {
		deep = []any{deep}
	}
	deepMap := any(1)
	for range 7 {
		deepMap = map[string]any{"k": deepMap}
	}
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"channel", "x", make(chan int)},
		{"func", "x", func() {}},
		{"NaN", "x", math.NaN()},
		{"+Inf", "x", math.Inf(1)},
		{"-Inf", "x", math.Inf(-1)},
		{"float32 NaN", "x", float32(math.NaN())},
		{"NaN in a slice", "x", []float64{1, math.NaN()}},
		{"Inf in a struct", "x", struct{ F float64 }{math.Inf(1)}},
		{"nested too deep", "x", deep},
		{"maps nested too deep", "x", deepMap},
		{"complex", "x", complex(1, 2)},
		{"invalid UTF-8 key", "\xff", 1},
		{"invalid UTF-8 replacing a key", "keep\xff", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(tt.key, tt.value); !errors.Is(err, cookiesession.ErrEncode) {
				t.Errorf("Set(%q, %T) = %v, want ErrEncode", tt.key, tt.value, err)
			}
			if keys := s.Keys(); !slices.Equal(keys, []string{"keep"}) {
				t.Errorf("after a refused Set, keys = %q, want [keep]", keys)
			}
		})
	}
	if err := cookiesession.SetData(s, math.NaN()); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("SetData(NaN) = %v, want ErrEncode", err)
	}
	if err := cookiesession.AddFlash(s, make(chan int)); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("AddFlash(chan) = %v, want ErrEncode", err)
	}

	// A value exactly at the nesting limit is stored and reads back.
	atLimit := any(1)
	for range 5 {
		atLimit = []any{atLimit}
	}
	if err := s.Set("deep", atLimit); err != nil {
		t.Errorf("Set of a value nested 6 levels = %v, want success", err)
	}
	v := e.commitOne(s).Value
	got := e.load(v)
	if _, _, err := cookiesession.Get[any](got, "deep"); err != nil {
		t.Errorf("Get of the nested value after a round trip = %v", err)
	}
	if keys := got.Keys(); !slices.Equal(keys, []string{"deep", "keep"}) {
		t.Errorf("round-tripped keys = %q, want [deep keep]", keys)
	}
}

// TestPayloadInvalidSubject checks that a subject the decoder would refuse is
// never stored: SetSubject refuses it and the session is unchanged.
func TestPayloadInvalidSubject(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(func(s *cookiesession.Session) {
		if err := s.SetSubject("bob"); err != nil {
			t.Fatal(err)
		}
	})
	s := e.load(v)
	if err := s.SetSubject("bob\xff"); !errors.Is(err, cookiesession.ErrEncode) {
		t.Errorf("SetSubject(invalid UTF-8) = %v, want ErrEncode", err)
	}
	if got := s.Subject(); got != "bob" {
		t.Errorf("Subject after a refused SetSubject = %q, want %q", got, "bob")
	}
	if s.Modified() {
		t.Error("a refused SetSubject marked the session modified")
	}
}

// Struct shapes for TestStorableFieldsMatchTheEncoder: each field of type
// any is a place a value may sit, which the encoder writes or not by the
// Go rules for promoted fields that it shares with encoding/json.
type (
	ShapeA struct{ X any }
	ShapeD struct{ X any }
	ShapeT struct {
		Y any `cbor:"X"`
	}
	ShapeJ struct {
		Y any `json:"X"`
	}
	ShapeDeep struct{ ShapeA }
)

// TestStorableFieldsMatchTheEncoder checks, field by field, that Set
// inspects exactly the fields the CBOR encoder writes: a value that Set
// must refuse (a struct whose fields are all unexported, which would be
// stored as an empty map) is refused where the encoder would write it, and
// accepted where the encoder leaves the field out (shadowed, ambiguous,
// skipped, or behind a nil embedded pointer). A field Set skipped but the
// encoder wrote would store data that never comes back; the reverse would
// refuse a value that is never stored.
func TestStorableFieldsMatchTheEncoder(t *testing.T) {
	t.Parallel()
	type unexported struct{ a int }
	poison := unexported{1}
	const marker = "crumb-field-marker"

	shapes := []struct {
		name  string
		value any  // a pointer to a zero struct
		clash bool // fields of one name at one depth hide each other: the encoder drops them all, so Set refuses the value
	}{
		{"plain", &struct{ X, Y any }{}, false},
		{"shallower field hides a promoted one", &struct {
			ShapeA
			X any
		}{}, false},
		{"two promoted fields at one depth hide each other", &struct {
			ShapeA
			ShapeD
			C any
		}{}, true},
		{"a tagged field beats an untagged one at its depth", &struct {
			ShapeA
			ShapeT
		}{}, false},
		{"a json tag counts as a tag", &struct {
			ShapeA
			ShapeJ
		}{}, false},
		{"two tagged fields at one depth hide each other", &struct {
			ShapeT
			ShapeJ
			C any
		}{}, true},
		{"depth beats a tag", &struct {
			ShapeDeep
			ShapeT
		}{}, false},
		{"cbor tag over json tag", &struct {
			A any `cbor:"a" json:"b"`
			B any `json:"a"`
			C any
		}{}, true},
		{"skipped by cbor:\"-\" and json:\"-\"", &struct {
			A any `cbor:"-"`
			B any `json:"-"`
			C any
		}{}, false},
		{"keyasint and text keys do not collide", &struct {
			A any `cbor:"1,keyasint"`
			B any `cbor:"1"`
		}{}, false},
		{"keyasint keys 1 and 01 collide", &struct {
			A any `cbor:"1,keyasint"`
			B any `cbor:"01,keyasint"`
			C any
		}{}, true},
		{"embedded pointer", &struct {
			*ShapeA
			Y any
		}{ShapeA: &ShapeA{}}, false},
		{"nil embedded pointer", &struct {
			*ShapeA
			Y any
		}{}, false},
		{"embedded with a name is a field", &struct {
			ShapeA `cbor:"a"`
			X      any
		}{ShapeA{}, nil}, false},
		{"the same type promoted twice at one depth", &struct {
			ShapeDeep
			ShapeA2 struct{ ShapeA }
		}{}, false},
	}
	h := newManager(t, cookiesession.Config{})
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			if sh.clash {
				if err := h.load().Set("v", sh.value); !errors.Is(err, cookiesession.ErrEncode) || !strings.Contains(err.Error(), "hide each other") {
					t.Errorf("Set of a struct whose fields hide each other = %v, want ErrEncode saying so", err)
				}
				return
			}
			leaves := anyFields(reflect.ValueOf(sh.value).Elem(), nil)
			if len(leaves) == 0 {
				t.Fatal("shape has no field of type any")
			}
			for _, path := range leaves {
				set := func(v any) {
					f := reflect.ValueOf(sh.value).Elem().FieldByIndex(path)
					if v == nil {
						f.SetZero()
					} else {
						f.Set(reflect.ValueOf(v))
					}
				}
				set(marker)
				enc, err := cbor.Marshal(sh.value)
				if err != nil {
					t.Fatal(err)
				}
				written := bytes.Contains(enc, []byte(marker))
				set(poison)
				err = h.load().Set("v", sh.value)
				set(nil)
				if refused := errors.Is(err, cookiesession.ErrEncode); refused != written {
					t.Errorf("field %v: encoder writes it: %v; Set refuses a value there: %v (%v)", path, written, refused, err)
				}
			}
		})
	}
}

// anyFields returns the index paths of the fields of type any in the
// struct v, through embedded structs and non-nil embedded pointers.
func anyFields(v reflect.Value, prefix []int) [][]int {
	var paths [][]int
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		path := append(slices.Clone(prefix), i)
		switch {
		case f.Type.Kind() == reflect.Interface:
			paths = append(paths, path)
		case f.Type.Kind() == reflect.Struct:
			paths = append(paths, anyFields(fv, path)...)
		case f.Type.Kind() == reflect.Pointer && !fv.IsNil():
			paths = append(paths, anyFields(fv.Elem(), path)...)
		}
	}
	return paths
}
