package format_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

func TestSizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"HeaderSize", format.HeaderSize, 6},
		{"NonceSize", format.NonceSize, 24},
		{"TagSize", format.TagSize, 16},
		{"Overhead", format.Overhead, 46},
		{"crypto.Overhead", crypto.Overhead, format.Overhead},
		{"MinTextLen", format.MinTextLen, 62},
		{"MaxTextLen", format.MaxTextLen, 40960},
		{"MaxChunkLen", format.MaxChunkLen, 4096},
		{"MaxSealedLen", format.MaxSealedLen, 30720},
		{"MaxPlaintext", format.MaxPlaintext, 30674},
		{"crypto.MaxPlaintext", crypto.MaxPlaintext, format.MaxPlaintext},
		{"HeaderTextLen", format.HeaderTextLen, 8},
		{"len(Encode(Overhead bytes))", len(format.Encode(make([]byte, format.Overhead))), format.MinTextLen},
		{"len(Encode(MaxSealedLen bytes))", len(format.Encode(make([]byte, format.MaxSealedLen))), format.MaxTextLen},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

// validText returns the text of a value with a plaintext of n bytes.
func validText(t testing.TB, k *crypto.Key, n int) string {
	t.Helper()
	sealed, err := k.Seal(nil, pattern(n), cookieAD)
	if err != nil {
		t.Fatal(err)
	}
	return format.Encode(sealed)
}

// TestDecodeRejects lists texts that Decode and PeekHeader must refuse
// before decoding.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
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
		"too short (header)":  base[:format.HeaderTextLen],
		"too long (Max+1)":    "AQ" + strings.Repeat("A", format.MaxTextLen-1),
		"too long (Max+4)":    base + strings.Repeat("A", format.MaxTextLen+4-len(base)),
		"too long (Max+2)":    base + strings.Repeat("A", format.MaxTextLen+2-len(base)),
		"version 0":           "AAG" + base[3:],
		"chunk count 0":       "AQA" + base[3:],
		"non-canonical (2)":   nonCanonical(t, validText(t, k, 3)),
		"non-canonical (3)":   nonCanonical(t, validText(t, k, 1)),
		"non-canonical (min)": nonCanonical(t, short),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if v, ok := format.Parse(s); ok || v.Sealed != nil {
				t.Errorf("Parse = %+v, %v; want nothing, false", v, ok)
			}
			if !strings.HasPrefix(name, "non-canonical") {
				// Everything but the last character is checked before
				// decoding, so PeekHeader refuses these too.
				if h, ok := format.PeekHeader(s); ok {
					t.Errorf("PeekHeader = %+v, true; want false", h)
				}
			}
		})
	}
	// The valid texts the cases were made from are accepted.
	for _, s := range []string{base, short, validText(t, k, 1), validText(t, k, 3)} {
		if _, ok := format.Parse(s); !ok {
			t.Errorf("Parse(valid, len %d) failed", len(s))
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
	t.Parallel()
	k := newTestKey(t)
	for n := 0; n < 3; n++ {
		s := validText(t, k, n)
		accepted := 0
		for _, c := range []byte(alphabet) {
			try := s[:len(s)-1] + string(c)
			v, ok := format.Parse(try)
			if !ok {
				if v.Sealed != nil {
					t.Errorf("Parse(%q) failed with output", try)
				}
				continue
			}
			accepted++
			if format.Encode(v.Sealed) != try {
				t.Errorf("Encode(Parse(%q)) = %q", try, format.Encode(v.Sealed))
			}
		}
		want := map[int]int{0: 64, 2: 4, 3: 16}[len(s)%4]
		if accepted != want {
			t.Errorf("len %d: %d last characters accepted, want %d", len(s), accepted, want)
		}
	}
}

// TestEncodeParseRoundTrip checks Encode(Parse(s)) == s and
// Parse(Encode(b)) == b over every plaintext length class and the bounds.
func TestEncodeParseRoundTrip(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, 1000, crypto.MaxPlaintext - 1, crypto.MaxPlaintext} {
		sealed, err := k.Seal(nil, pattern(n), cookieAD)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", n, err)
		}
		s := format.Encode(sealed)
		v, ok := format.Parse(s)
		if !ok || !bytes.Equal(v.Sealed, sealed) || v.Header != (format.Header{Chunks: 1, KeyID: k.ID()}) {
			t.Fatalf("Parse(Encode(%d bytes)) = %+v, %v", len(sealed), v.Header, ok)
		}
		if format.Encode(v.Sealed) != s {
			t.Fatalf("Encode(Parse(s)) != s for len %d", len(s))
		}
		if got := format.AppendEncode([]byte("p:"), sealed); string(got) != "p:"+s {
			t.Fatalf("AppendEncode(%d bytes) is not the prefix followed by Encode", len(sealed))
		}
		pt, err := k.Open(nil, v.Sealed, cookieAD)
		if err != nil || !bytes.Equal(pt, pattern(n)) {
			t.Fatalf("Open(%d bytes) = %v", n, err)
		}
		if n == crypto.MaxPlaintext && len(s) != format.MaxTextLen {
			t.Errorf("largest value has %d characters, want MaxTextLen %d", len(s), format.MaxTextLen)
		}
	}
	if out, err := k.Seal(nil, make([]byte, crypto.MaxPlaintext+1), nil); err != crypto.ErrTooLong || out != nil {
		t.Errorf("Seal(MaxPlaintext+1) = %d bytes, %v; want ErrTooLong", len(out), err)
	}
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	sealed, err := k.Seal(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := format.Header{Chunks: 1, KeyID: k.ID()}
	if h, ok := format.ParseHeader(sealed); !ok || h != want {
		t.Errorf("ParseHeader = %+v, %v; want %+v", h, ok, want)
	}
	if h, ok := format.PeekHeader(format.Encode(sealed)); !ok || h != want {
		t.Errorf("PeekHeader = %+v, %v; want %+v", h, ok, want)
	}
	if got := want.Append([]byte("x")); !bytes.Equal(got, append([]byte("x"), sealed[:format.HeaderSize]...)) {
		t.Errorf("Header.Append = %x, want %x", got, sealed[:format.HeaderSize])
	}
	for _, n := range []int{0, 1, format.HeaderSize, format.Overhead - 1, format.MaxSealedLen + 1} {
		b := make([]byte, n)
		copy(b, sealed)
		if h, ok := format.ParseHeader(b); ok || h != (format.Header{}) {
			t.Errorf("ParseHeader(%d bytes) = %+v, %v; want nothing, false", n, h, ok)
		}
	}
	for _, bad := range [][2]byte{{0, 1}, {2, 1}, {format.Version, 0}, {format.Version, format.MaxChunks + 1}} {
		b := bytes.Clone(sealed)
		b[0], b[1] = bad[0], bad[1]
		if h, ok := format.ParseHeader(b); ok {
			t.Errorf("ParseHeader(version %d, chunks %d) = %+v, true", bad[0], bad[1], h)
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

// TestAdditionalData pins the encoding of field lists and shows that
// distinct lists encode differently and decode back.
func TestAdditionalData(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for i, c := range contextTable {
		got := format.AdditionalData(c.fields...)
		if fmt.Sprintf("%x", got) != c.hex {
			t.Errorf("AdditionalData(%.40q) = %.60x, want %.60s", c.fields, got, c.hex)
		}
		if len(c.fields) == 0 && (got == nil || len(got) != 0) {
			t.Errorf("AdditionalData() = %#v, want empty bytes", got)
		}
		if j, dup := seen[string(got)]; dup && len(c.fields)+len(contextTable[j].fields) > 0 {
			t.Errorf("AdditionalData(%.40q) = AdditionalData(%.40q)", c.fields, contextTable[j].fields)
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

// TestAllocsOnGarbage bounds the allocations of Parse, and of Parse then
// Open, on the largest inputs an attacker can send.
func TestAllocsOnGarbage(t *testing.T) {
	// Not parallel: it uses AllocsPerRun.
	k := newTestKey(t)
	id := k.ID()
	header := format.Encode(append([]byte{format.Version, 1}, id[:]...))
	inputs := []struct {
		name        string
		text        string
		decode, all float64 // ceilings for Parse, and Parse+Open
	}{
		{"MaxTextLen+1 characters", header + strings.Repeat("A", format.MaxTextLen+1-len(header)), 0, 0},
		{"MaxTextLen characters, outside the alphabet", strings.Repeat("!", format.MaxTextLen), 0, 0},
		{"MaxTextLen characters, bad version", strings.Repeat("A", format.MaxTextLen), 0, 0},
		{"MaxTextLen characters, unknown key", "AQGtaB5M" + strings.Repeat("z", format.MaxTextLen-8), 1, 1},
		{"MaxTextLen characters, the key's ID", header + strings.Repeat("_", format.MaxTextLen-len(header)), 1, 4},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			failed := false
			decode := testing.AllocsPerRun(20, func() {
				_, ok := format.Parse(in.text)
				failed = !ok
			})
			all := testing.AllocsPerRun(20, func() {
				v, ok := format.Parse(in.text)
				if ok {
					out, err := k.Open(nil, v.Sealed, cookieAD)
					if out != nil || !errors.Is(err, crypto.ErrInvalid) {
						t.Fatal("garbage opened")
					}
				}
			})
			if decode > in.decode || all > in.all {
				t.Errorf("allocs: Parse %v (max %v), Parse+Open %v (max %v)", decode, in.decode, all, in.all)
			}
			_ = failed
		})
	}
}

// BenchmarkRejectGarbage measures the cost of refusing the largest junk.
func BenchmarkRejectGarbage(b *testing.B) {
	k := newTestKey(b)
	id := k.ID()
	text := format.Encode(append([]byte{format.Version, 1}, id[:]...)) + strings.Repeat("_", format.MaxTextLen-8)
	var err error
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if v, ok := format.Parse(text); ok {
			_, err = k.Open(nil, v.Sealed, cookieAD)
		}
	}
	if crypto.ReasonOf(err) != crypto.ReasonUnauthentic {
		b.Fatalf("err = %v, want unauthentic", err)
	}
}

// Helpers.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// cookieAD is the additional data the session layer binds for a cookie
// named __Host-session.
var cookieAD = format.AdditionalData("crumb/v1/cookiesession", "__Host-session")

// pattern returns n bytes that are not all alike.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func newTestKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
