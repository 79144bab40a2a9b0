package cookiesession_test

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
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
