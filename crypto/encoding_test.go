package crypto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/crypto"
)

func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"HeaderSize", crypto.HeaderSize, 6},
		{"NonceSize", crypto.NonceSize, 24},
		{"TagSize", crypto.TagSize, 16},
		{"Overhead", crypto.Overhead, 46},
		{"MinTextLen", crypto.MinTextLen, 62},
		{"MaxTextLen", crypto.MaxTextLen, 40960},
		{"MaxChunkLen", crypto.MaxChunkLen, 4096},
		{"MaxSealedLen", crypto.MaxSealedLen, 30720},
		{"MaxPlaintext", crypto.MaxPlaintext, 30674},
		{"HeaderTextLen", crypto.HeaderTextLen, 8},
		{"KeyTextLen", crypto.KeyTextLen, 62},
		{"len(Encode(Overhead bytes))", len(crypto.Encode(make([]byte, crypto.Overhead))), crypto.MinTextLen},
		{"len(Encode(MaxSealedLen bytes))", len(crypto.Encode(make([]byte, crypto.MaxSealedLen))), crypto.MaxTextLen},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// validText returns the text of a value with a plaintext of n bytes.
func validText(t testing.TB, k *crypto.Key, n int) string {
	t.Helper()
	sealed, err := k.Seal(nil, pattern(n), cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.Encode(sealed)
}

// TestDecodeRejects lists texts that Decode and PeekHeader must refuse
// before decoding.
func TestDecodeRejects(t *testing.T) {
	k := newTestKey(t)
	base := validText(t, k, 20) // 66 bytes: 88 characters, len%4 == 0
	if len(base)%4 != 0 {
		t.Fatalf("len(base) = %d, want a multiple of 4", len(base))
	}
	at := func(i int, c string) string { return base[:i] + c + base[i+1:] }
	ins := func(i int, c string) string { return base[:i] + c + base[i:] }
	short := validText(t, k, 0) // 62 characters
	cases := map[string]string{
		"empty":               "",
		"padding appended":    base + "==",
		"padding inside":      at(40, "="),
		"padding at the end":  base[:len(base)-2] + "==",
		"plus":                at(20, "+"),
		"slash":               at(3, "/"),
		"space":               at(30, " "),
		"leading space":       " " + base[1:],
		"trailing space":      base[:len(base)-1] + " ",
		"tab":                 at(30, "\t"),
		"double quote":        at(30, `"`),
		"quoted":              `"` + base[1:len(base)-1] + `"`,
		"single quote":        at(30, "'"),
		"CR":                  at(30, "\r"),
		"LF":                  at(30, "\n"),
		"CRLF inserted":       ins(40, "\r\n"),
		"LF inserted x4":      ins(40, "\n\n\n\n"),
		"dot":                 at(30, "."),
		"NUL":                 at(30, "\x00"),
		"non-ASCII":           at(30, "\xc3"),
		"UTF-8 é":             ins(40, "é"),
		"len%4 == 1":          base + "A",
		"too short (61)":      short[:61],
		"too short (60)":      short[:60],
		"too short (header)":  base[:crypto.HeaderTextLen],
		"too long (Max+1)":    "AQ" + strings.Repeat("A", crypto.MaxTextLen-1),
		"too long (Max+4)":    base + strings.Repeat("A", crypto.MaxTextLen+4-len(base)),
		"too long (Max+2)":    base + strings.Repeat("A", crypto.MaxTextLen+2-len(base)),
		"version 0":           "AAG" + base[3:],
		"chunk count 0":       "AQA" + base[3:],
		"non-canonical (2)":   nonCanonical(t, validText(t, k, 3)),
		"non-canonical (3)":   nonCanonical(t, validText(t, k, 1)),
		"non-canonical (min)": nonCanonical(t, short),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := crypto.Decode(s)
			wantInvalid(t, "Decode", out, err, crypto.ReasonMalformed)
			if !strings.HasPrefix(name, "non-canonical") {
				// Everything but the last character is checked before
				// decoding, so PeekHeader refuses these too.
				if h, err := crypto.PeekHeader(s); err == nil {
					t.Errorf("PeekHeader = %+v, nil; want an error", h)
				}
			}
		})
	}
	// The valid texts the cases were made from are accepted.
	for _, s := range []string{base, short, validText(t, k, 1), validText(t, k, 3)} {
		if _, err := crypto.Decode(s); err != nil {
			t.Errorf("Decode(valid, len %d) = %v", len(s), err)
		}
	}
}

// nonCanonical changes the last character of s so that its unused low bits
// are not zero: it decodes to the same bytes in a lax decoder.
func nonCanonical(t testing.TB, s string) string {
	t.Helper()
	unused := map[int]int{2: 4, 3: 2}[len(s)%4]
	if unused == 0 {
		t.Fatalf("len %d has no unused bits", len(s))
	}
	v := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[v|1])
}

// TestLastCharacter tries every alphabet character as the last character
// of texts of each length class: exactly the canonical ones decode, and
// those re-encode to the input.
func TestLastCharacter(t *testing.T) {
	k := newTestKey(t)
	for n := 0; n < 3; n++ {
		s := validText(t, k, n)
		accepted := 0
		for _, c := range []byte(alphabet) {
			try := s[:len(s)-1] + string(c)
			out, err := crypto.Decode(try)
			if err != nil {
				wantInvalid(t, "Decode", out, err, crypto.ReasonMalformed)
				continue
			}
			accepted++
			if crypto.Encode(out) != try {
				t.Errorf("Encode(Decode(%q)) = %q", try, crypto.Encode(out))
			}
		}
		want := map[int]int{0: 64, 2: 4, 3: 16}[len(s)%4]
		if accepted != want {
			t.Errorf("len %d: %d last characters accepted, want %d", len(s), accepted, want)
		}
	}
}

// TestEncodeDecodeRoundTrip checks Encode(Decode(s)) == s and
// Decode(Encode(b)) == b over every plaintext length class and the bounds.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	k := newTestKey(t)
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, 1000, crypto.MaxPlaintext - 1, crypto.MaxPlaintext} {
		sealed, err := k.Seal(nil, pattern(n), cookieContext)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", n, err)
		}
		s := crypto.Encode(sealed)
		got, err := crypto.Decode(s)
		if err != nil || !bytes.Equal(got, sealed) {
			t.Fatalf("Decode(Encode(%d bytes)) = %v", len(sealed), err)
		}
		if crypto.Encode(got) != s {
			t.Fatalf("Encode(Decode(s)) != s for len %d", len(s))
		}
		pt, err := k.Open(nil, got, cookieContext)
		if err != nil || !bytes.Equal(pt, pattern(n)) {
			t.Fatalf("Open(%d bytes) = %v", n, err)
		}
		if n == crypto.MaxPlaintext && len(s) != crypto.MaxTextLen {
			t.Errorf("largest value has %d characters, want MaxTextLen %d", len(s), crypto.MaxTextLen)
		}
	}
	if out, err := k.Seal(nil, make([]byte, crypto.MaxPlaintext+1), nil); err != crypto.ErrTooLong || out != nil {
		t.Errorf("Seal(MaxPlaintext+1) = %d bytes, %v; want ErrTooLong", len(out), err)
	}
}

func TestParseHeader(t *testing.T) {
	k := newTestKey(t)
	sealed, err := k.Seal(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.Header{Chunks: 1, KeyID: k.ID()}
	if h, err := crypto.ParseHeader(sealed); err != nil || h != want {
		t.Errorf("ParseHeader = %+v, %v; want %+v", h, err, want)
	}
	if h, err := crypto.PeekHeader(crypto.Encode(sealed)); err != nil || h != want {
		t.Errorf("PeekHeader = %+v, %v; want %+v", h, err, want)
	}
	for _, n := range []int{0, 1, crypto.HeaderSize, crypto.Overhead - 1, crypto.MaxSealedLen + 1} {
		b := make([]byte, n)
		copy(b, sealed)
		h, err := crypto.ParseHeader(b)
		wantInvalid(t, fmt.Sprintf("ParseHeader(%d bytes)", n), nil, err, crypto.ReasonMalformed)
		if h != (crypto.Header{}) {
			t.Errorf("ParseHeader(%d bytes) = %+v with an error", n, h)
		}
	}
}

var contextTable = []struct {
	fields []string
	hex    string
}{
	{nil, ""},
	{[]string{}, ""},
	{[]string{""}, "00"},
	{[]string{"", ""}, "0000"},
	{[]string{"a"}, "0161"},
	{[]string{"a", ""}, "016100"},
	{[]string{"", "a"}, "000161"},
	{[]string{"ab", "c"}, "0261620163"},
	{[]string{"a", "bc"}, "0161026263"},
	{[]string{"abc"}, "03616263"},
	{[]string{"\x01a"}, "020161"},
	{[]string{"\x00"}, "0100"},
	{[]string{"é"}, "02c3a9"},
	{[]string{strings.Repeat("x", 127)}, "7f" + strings.Repeat("78", 127)},
	{[]string{strings.Repeat("x", 128)}, "8001" + strings.Repeat("78", 128)},
	{[]string{strings.Repeat("x", 130)}, "8201" + strings.Repeat("78", 130)},
	{[]string{strings.Repeat("x", 16384)}, "808001" + strings.Repeat("78", 16384)},
}

// TestContext pins the encoding of field lists and shows that distinct
// lists encode differently and decode back.
func TestContext(t *testing.T) {
	seen := map[string]int{}
	for i, c := range contextTable {
		got := crypto.Context(c.fields...)
		if fmt.Sprintf("%x", got) != c.hex {
			t.Errorf("Context(%.40q) = %.60x, want %.60s", c.fields, got, c.hex)
		}
		if len(c.fields) == 0 && (got == nil || len(got) != 0) {
			t.Errorf("Context() = %#v, want empty bytes", got)
		}
		if j, dup := seen[string(got)]; dup && len(c.fields)+len(contextTable[j].fields) > 0 {
			t.Errorf("Context(%.40q) = Context(%.40q)", c.fields, contextTable[j].fields)
		}
		seen[string(got)] = i
		if back := splitContext(t, got); len(back) != len(c.fields) || fmt.Sprintf("%q", back) != fmt.Sprintf("%q", append([]string{}, c.fields...)) {
			t.Errorf("context %.40x decodes to %.40q, want %.40q", got, back, c.fields)
		}
	}
}

// splitContext decodes a context back into its fields, failing on any
// leftover or short byte: the encoding is a prefix code.
func splitContext(t *testing.T, b []byte) []string {
	t.Helper()
	fields := []string{}
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			t.Fatalf("context %x is not a list of length-prefixed fields", b)
		}
		fields = append(fields, string(b[w:w+int(n)]))
		b = b[w+int(n):]
	}
	return fields
}

// TestAllocsOnGarbage bounds the allocations of Decode and Open on the
// largest inputs an attacker can send.
func TestAllocsOnGarbage(t *testing.T) {
	k := newTestKey(t)
	id := k.ID()
	header := crypto.Encode(append([]byte{crypto.Version, 1}, id[:]...))
	inputs := []struct {
		name        string
		text        string
		decode, all float64 // ceilings for Decode, and Decode+Open
	}{
		{"MaxTextLen+1 characters", header + strings.Repeat("A", crypto.MaxTextLen+1-len(header)), 0, 0},
		{"MaxTextLen characters, outside the alphabet", strings.Repeat("!", crypto.MaxTextLen), 0, 0},
		{"MaxTextLen characters, bad version", strings.Repeat("A", crypto.MaxTextLen), 0, 0},
		{"MaxTextLen characters, unknown key", "AQGtaB5M" + strings.Repeat("z", crypto.MaxTextLen-8), 1, 1},
		{"MaxTextLen characters, the key's ID", header + strings.Repeat("_", crypto.MaxTextLen-len(header)), 1, 4},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			var err error
			decode := testing.AllocsPerRun(20, func() {
				_, err = crypto.Decode(in.text)
			})
			all := testing.AllocsPerRun(20, func() {
				var sealed, out []byte
				sealed, err = crypto.Decode(in.text)
				if err == nil {
					out, err = k.Open(nil, sealed, cookieContext)
				}
				if out != nil {
					t.Fatal("garbage opened")
				}
			})
			if !errors.Is(err, crypto.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if decode > in.decode || all > in.all {
				t.Errorf("allocs: Decode %v (max %v), Decode+Open %v (max %v)", decode, in.decode, all, in.all)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	k := newTestKey(b)
	for _, n := range []int{64, 1024, 4096} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			pt := pattern(n)
			dst := make([]byte, 0, n+crypto.Overhead)
			var out []byte
			var err error
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				out, err = k.Seal(dst[:0], pt, cookieContext)
			}
			if err != nil || len(out) != n+crypto.Overhead {
				b.Fatalf("Seal = %d bytes, %v", len(out), err)
			}
			if got, err := k.Open(nil, out, cookieContext); err != nil || !bytes.Equal(got, pt) {
				b.Fatalf("Open(Seal) = %v", err)
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKey(b)
	for _, n := range []int{64, 1024, 4096} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			pt := pattern(n)
			sealed, err := k.Seal(nil, pt, cookieContext)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, n)
			var out []byte
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				out, err = k.Open(dst[:0], sealed, cookieContext)
			}
			if err != nil || !bytes.Equal(out, pt) {
				b.Fatalf("Open = %v", err)
			}
		})
	}
}

// BenchmarkRejectGarbage measures the cost of refusing the largest junk.
func BenchmarkRejectGarbage(b *testing.B) {
	k := newTestKey(b)
	id := k.ID()
	text := crypto.Encode(append([]byte{crypto.Version, 1}, id[:]...)) + strings.Repeat("_", crypto.MaxTextLen-8)
	var err error
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		var sealed []byte
		sealed, err = crypto.Decode(text)
		if err == nil {
			_, err = k.Open(nil, sealed, cookieContext)
		}
	}
	if crypto.ReasonOf(err) != crypto.ReasonUnauthentic {
		b.Fatalf("err = %v, want unauthentic", err)
	}
}
