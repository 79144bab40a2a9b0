package crypto_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// tamperFixture is a representative sealed value: a 100-byte plaintext under
// the cookie context.
type tamperFixture struct {
	k         *crypto.Key
	plaintext []byte
	sealed    []byte
	text      string
}

func newTamperFixture(t *testing.T) tamperFixture {
	t.Helper()
	k := newTestKey(t)
	pt := pattern(100)
	sealed, err := k.Seal(nil, pt, cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Open(nil, sealed, cookieContext)
	if err != nil || !bytes.Equal(out, pt) {
		t.Fatalf("untampered Open = %x, %v", out, err)
	}
	return tamperFixture{k: k, plaintext: pt, sealed: sealed, text: format.Encode(sealed)}
}

// mustFail opens sealed and also its text form, and checks that both fail
// alike with the uniform error, no output, and at most one AEAD open.
func (f tamperFixture) mustFail(t *testing.T, what string, sealed, context []byte, reason crypto.Reason) {
	t.Helper()
	before := f.k.Opens()
	out, err := f.k.Open(nil, sealed, context)
	wantInvalid(t, what, out, err, reason)
	wantOpens := uint64(0)
	if crypto.ReasonOf(err) == crypto.ReasonUnauthentic {
		wantOpens = 1
	}
	if got := f.k.Opens() - before; got != wantOpens {
		t.Fatalf("%s: %d AEAD opens for reason %v, want %d", what, got, crypto.ReasonOf(err), wantOpens)
	}
	f.mustFailText(t, what+" (text)", format.Encode(sealed), context)
}

// mustFailText decodes and opens text and expects the uniform error.
func (f tamperFixture) mustFailText(t *testing.T, what, text string, context []byte) {
	t.Helper()
	sealed, err := decodeText(text)
	if err != nil {
		wantInvalid(t, what+": Decode", sealed, err, crypto.ReasonMalformed)
		return
	}
	out, err := f.k.Open(nil, sealed, context)
	wantInvalid(t, what+": Open", out, err, crypto.ReasonUnknown)
}

// TestTamperEveryBit flips every bit of a sealed value: version, chunk
// count, key ID, nonce, ciphertext and tag.
func TestTamperEveryBit(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	for i := range 8 * len(f.sealed) {
		bad := bytes.Clone(f.sealed)
		bad[i/8] ^= 1 << (i % 8)
		var want crypto.Reason
		switch pos := i / 8; {
		case pos == 0:
			want = crypto.ReasonMalformed
		case pos == 1:
			want = crypto.ReasonUnauthentic
			if bad[1] < 1 || bad[1] > format.MaxChunks {
				want = crypto.ReasonMalformed
			}
		case pos < format.HeaderSize:
			want = crypto.ReasonUnknownKey
		default:
			want = crypto.ReasonUnauthentic
		}
		f.mustFail(t, fmt.Sprintf("bit %d (byte %d)", i, i/8), bad, cookieContext, want)
	}
}

func TestTamperTruncateAppend(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	for n := range len(f.sealed) {
		want := crypto.ReasonUnauthentic
		if n < crypto.Overhead {
			want = crypto.ReasonMalformed
		}
		f.mustFail(t, fmt.Sprintf("truncated to %d", n), bytes.Clone(f.sealed[:n]), cookieContext, want)
	}
	for n := 1; n <= 64; n++ {
		for _, fill := range []byte{0x00, 0xa5} {
			bad := append(bytes.Clone(f.sealed), bytes.Repeat([]byte{fill}, n)...)
			f.mustFail(t, fmt.Sprintf("%d bytes %02x appended", n, fill), bad, cookieContext, crypto.ReasonUnauthentic)
		}
	}
	// A plaintext-length shift: the tag of a shorter value moved to the end.
	if _, err := f.k.Open(nil, append(bytes.Clone(f.sealed[:len(f.sealed)-1]), f.sealed[len(f.sealed)-17:len(f.sealed)-1]...), cookieContext); !errors.Is(err, crypto.ErrInvalid) {
		t.Errorf("shifted tag: err = %v", err)
	}
}

func TestTamperText(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	for n := range len(f.text) {
		f.mustFailText(t, fmt.Sprintf("text truncated to %d", n), f.text[:n], cookieContext)
	}
	for i := range len(f.text) {
		tried := 0
		for _, c := range []byte("AQgw_-09z") {
			if c == f.text[i] || tried == 4 {
				continue
			}
			tried++
			bad := []byte(f.text)
			bad[i] = c
			f.mustFailText(t, fmt.Sprintf("text[%d] = %q", i, c), string(bad), cookieContext)
		}
		for _, c := range []byte("=+/ .\"'\r\n\t\x00\x80") {
			bad := []byte(f.text)
			bad[i] = c
			f.mustFailText(t, fmt.Sprintf("text[%d] = %q", i, c), string(bad), cookieContext)
		}
	}
	for n := 1; n <= 64; n++ {
		for _, c := range []string{"A", "_", "w"} {
			f.mustFailText(t, fmt.Sprintf("%d × %q appended", n, c), f.text+string(bytes.Repeat([]byte(c), n)), cookieContext)
		}
	}
}

// TestTamperSwap moves nonces, ciphertexts and tags between two values of
// the same length under the same key and context.
func TestTamperSwap(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	other, err := f.k.Seal(nil, pattern(100), cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	ns, ne := format.HeaderSize, format.HeaderSize+format.NonceSize
	ts := len(f.sealed) - format.TagSize
	parts := map[string][2]int{"nonce": {ns, ne}, "ciphertext": {ne, ts}, "tag": {ts, len(f.sealed)}, "ciphertext and tag": {ne, len(f.sealed)}}
	for name, p := range parts {
		bad := bytes.Clone(f.sealed)
		copy(bad[p[0]:p[1]], other[p[0]:p[1]])
		f.mustFail(t, "swapped "+name, bad, cookieContext, crypto.ReasonUnauthentic)
	}
	// The two whole values both open: the swaps, not the values, are bad.
	if _, err := f.k.Open(nil, other, cookieContext); err != nil {
		t.Fatal(err)
	}
}

// TestTamperContext opens a value under other contexts.
func TestTamperContext(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	fields := []string{"crumb/v1/cookiesession", "__Host-session", "app"}
	ctx := format.AdditionalData(fields...)
	sealed, err := k.Seal(nil, []byte("payload"), ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := tamperFixture{k: k}
	var others [][]string
	for i := range fields {
		changed := append([]string(nil), fields...)
		changed[i] += "x"
		others = append(others, changed)
		removed := append(append([]string(nil), fields[:i]...), fields[i+1:]...)
		others = append(others, removed)
		emptied := append([]string(nil), fields...)
		emptied[i] = ""
		others = append(others, emptied)
	}
	others = append(others,
		append(append([]string(nil), fields...), ""),
		append([]string{""}, fields...),
		[]string{"crumb/v1/cookiesession", "__Host-sessio", "napp"},
		[]string{"crumb/v1/cookiesession", "__Host-session" + "app"},
		[]string{"crumb/v1/cookiesession", "__host-session", "app"},
		nil,
	)
	for _, o := range others {
		f.mustFail(t, fmt.Sprintf("context %q", o), sealed, format.AdditionalData(o...), crypto.ReasonUnauthentic)
	}
	// Raw concatenation without the length prefixes must not open either.
	f.mustFail(t, "unframed context", sealed, []byte("crumb/v1/cookiesession__Host-sessionapp"), crypto.ReasonUnauthentic)

	// ("ab", "c") and ("a", "bc") are different contexts.
	abc, err := k.Seal(nil, []byte("payload"), format.AdditionalData("ab", "c"))
	if err != nil {
		t.Fatal(err)
	}
	f.mustFail(t, `("a", "bc")`, abc, format.AdditionalData("a", "bc"), crypto.ReasonUnauthentic)
	f.mustFail(t, `("abc")`, abc, format.AdditionalData("abc"), crypto.ReasonUnauthentic)
	if out, err := k.Open(nil, abc, format.AdditionalData("ab", "c")); err != nil || string(out) != "payload" {
		t.Errorf(`Open under ("ab", "c") = %q, %v`, out, err)
	}
}

// TestTamperHeader sets the version byte and the chunk count to values a
// reader must reject before any cryptography.
func TestTamperHeader(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	for _, v := range []byte{0x00, 0x02, 0x80, 0xff} {
		bad := bytes.Clone(f.sealed)
		bad[0] = v
		f.mustFail(t, fmt.Sprintf("version %#x", v), bad, cookieContext, crypto.ReasonMalformed)
	}
	for _, c := range []byte{0, 11, 255} {
		bad := bytes.Clone(f.sealed)
		bad[1] = c
		f.mustFail(t, fmt.Sprintf("chunk count %d", c), bad, cookieContext, crypto.ReasonMalformed)
	}
	// In-range counts are authenticated: a value sealed with 1 does not
	// open claiming 2..10, and one sealed with 3 opens only as 3.
	for c := byte(2); c <= format.MaxChunks; c++ {
		bad := bytes.Clone(f.sealed)
		bad[1] = c
		f.mustFail(t, fmt.Sprintf("chunk count %d", c), bad, cookieContext, crypto.ReasonUnauthentic)
	}
	three, err := f.k.SealWith(&byteAtATime{}, nil, 3, []byte("x"), cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := format.ParseHeader(three); !ok || h.Chunks != 3 {
		t.Fatalf("ParseHeader = %+v, %v; want 3 chunks", h, ok)
	}
	if out, err := f.k.Open(nil, three, cookieContext); err != nil || string(out) != "x" {
		t.Fatalf("Open(3 chunks) = %q, %v", out, err)
	}
	three[1] = 1
	f.mustFail(t, "chunk count 3 changed to 1", three, cookieContext, crypto.ReasonUnauthentic)
	for _, c := range []int{0, format.MaxChunks + 1} {
		if out, err := f.k.SealWith(&byteAtATime{}, nil, c, nil, nil); err == nil || out != nil {
			t.Errorf("seal with %d chunks = %x, %v; want an error", c, out, err)
		}
	}
}

// TestUniformFailure proves that malformed, unknown-key and unauthentic
// values give errors with one text and one dynamic type, told apart only
// by ReasonOf.
func TestUniformFailure(t *testing.T) {
	t.Parallel()
	f := newTamperFixture(t)
	unauthentic := bytes.Clone(f.sealed)
	unauthentic[len(unauthentic)-1] ^= 1
	foreign, err := newTestKey(t).Seal(nil, f.plaintext, cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		text   string
		reason crypto.Reason
	}{
		{"malformed", f.text[:len(f.text)-4] + "====", crypto.ReasonMalformed},
		{"unknown key", format.Encode(foreign), crypto.ReasonUnknownKey},
		{"unauthentic", format.Encode(unauthentic), crypto.ReasonUnauthentic},
	}
	var errs []error
	for _, c := range cases {
		sealed, err := decodeText(c.text)
		if err == nil {
			sealed, err = f.k.Open(nil, sealed, cookieContext)
		}
		wantInvalid(t, c.name, sealed, err, c.reason)
		errs = append(errs, err)
	}
	errs = append(errs, crypto.Invalid(crypto.ReasonPayload), fmt.Errorf("wrapped: %w", errs[0]))
	for i, err := range errs[:len(errs)-1] {
		if err.Error() != crypto.ErrInvalid.Error() {
			t.Errorf("error %d text %q, want %q", i, err.Error(), crypto.ErrInvalid.Error())
		}
		if reflect.TypeOf(err) != reflect.TypeOf(errs[0]) {
			t.Errorf("error %d type %T, want %T", i, err, errs[0])
		}
		if !errors.Is(err, crypto.ErrInvalid) || crypto.ReasonOf(err) == crypto.ReasonUnknown {
			t.Errorf("error %d: does not match ErrInvalid with a reason", i)
		}
		for _, other := range []error{crypto.ErrKey, crypto.ErrWeakKey, crypto.ErrRandom, crypto.ErrTooLong} {
			if errors.Is(err, other) {
				t.Errorf("error %d matches %v", i, other)
			}
		}
	}
	if crypto.ReasonOf(errs[len(errs)-1]) != crypto.ReasonMalformed {
		t.Errorf("ReasonOf(wrapped) = %v", crypto.ReasonOf(errs[len(errs)-1]))
	}
	// ReasonOf follows what errors.As follows: wrapping, joins, and
	// nothing else.
	for _, c := range []struct {
		name string
		err  error
		want crypto.Reason
	}{
		{"nil", nil, crypto.ReasonUnknown},
		{"another error", crypto.ErrKey, crypto.ReasonUnknown},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", crypto.Invalid(crypto.ReasonUnauthentic))), crypto.ReasonUnauthentic},
		{"joined, second", errors.Join(crypto.ErrKey, crypto.Invalid(crypto.ReasonUnknownKey)), crypto.ReasonUnknownKey},
		{"joined, wrapped", fmt.Errorf("x: %w", errors.Join(crypto.ErrKey, fmt.Errorf("y: %w", crypto.Invalid(crypto.ReasonPayload)))), crypto.ReasonPayload},
		{"joined, none", errors.Join(crypto.ErrKey, crypto.ErrTooLong), crypto.ReasonUnknown},
		{"formatted with %v", fmt.Errorf("z: %v", crypto.Invalid(crypto.ReasonMalformed)), crypto.ReasonUnknown},
	} {
		if got := crypto.ReasonOf(c.err); got != c.want {
			t.Errorf("ReasonOf(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	if crypto.ReasonOf(errs[3]) != crypto.ReasonPayload || !errors.Is(errs[3], crypto.ErrInvalid) {
		t.Errorf("Invalid(ReasonPayload) = %v with reason %v", errs[3], crypto.ReasonOf(errs[3]))
	}
	for _, r := range []crypto.Reason{crypto.ReasonMalformed, crypto.ReasonUnknownKey, crypto.ReasonUnauthentic, crypto.ReasonPayload, crypto.Reason(200)} {
		if got := crypto.ReasonOf(crypto.Invalid(r)); got != r {
			t.Errorf("ReasonOf(Invalid(%v)) = %v", r, got)
		}
	}
	if crypto.ReasonOf(nil) != crypto.ReasonUnknown || crypto.ReasonOf(crypto.ErrInvalid) != crypto.ReasonUnknown || crypto.ReasonOf(errBroken) != crypto.ReasonUnknown {
		t.Error("ReasonOf of an error that carries no reason is not ReasonUnknown")
	}
	names := map[string]bool{}
	for r := crypto.ReasonUnknown; r <= crypto.ReasonPayload; r++ {
		names[r.String()] = true
	}
	if len(names) != 5 || crypto.Reason(99).String() != crypto.ReasonUnknown.String() {
		t.Errorf("Reason names are not distinct: %v", names)
	}
}
