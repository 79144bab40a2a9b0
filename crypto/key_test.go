package crypto_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/crypto"
)

// secretOf returns the secret bytes of k from its text form.
func secretOf(t testing.TB, k *crypto.Key) []byte {
	t.Helper()
	text := k.SecretText()
	b, err := base64.RawURLEncoding.Strict().DecodeString(text[len(text)-43:])
	if err != nil || len(b) != crypto.KeySize {
		t.Fatalf("SecretText has no 32-byte secret: %v", err)
	}
	return b
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	secrets := map[string]bool{}
	ids := map[crypto.KeyID]bool{}
	var prev *crypto.Key
	for range 64 {
		k := newTestKey(t)
		s := secretOf(t, k)
		if secrets[string(s)] || ids[k.ID()] {
			t.Fatal("GenerateKey repeated a secret or a key ID")
		}
		secrets[string(s)] = true
		ids[k.ID()] = true
		if id := hkdfSHA256(t, s, "crumb/v1/key-id", 4); crypto.KeyID(id) != k.ID() {
			t.Fatalf("ID = %x, want HKDF-SHA256(secret, \"crumb/v1/key-id\", 4) = %x", k.ID(), id)
		}
		if prev != nil && (k.Equal(prev) || prev.Equal(k)) {
			t.Fatal("two generated keys are Equal")
		}
		if !k.Equal(k) {
			t.Fatal("a key is not Equal to itself")
		}
		prev = k
	}
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 16, 31, 33, 64} {
		k, err := crypto.NewKey(make([]byte, n))
		if !errors.Is(err, crypto.ErrKey) || k != nil {
			t.Errorf("NewKey(%d bytes) = %v, %v; want ErrKey", n, k, err)
		}
		if errors.Is(err, crypto.ErrWeakKey) {
			t.Errorf("NewKey(%d bytes): a bad length is not a weak key", n)
		}
	}
	if _, err := crypto.NewKey(nil); !errors.Is(err, crypto.ErrKey) {
		t.Errorf("NewKey(nil) = %v, want ErrKey", err)
	}
	for b := range 256 {
		k, err := crypto.NewKey(bytes.Repeat([]byte{byte(b)}, crypto.KeySize))
		if !errors.Is(err, crypto.ErrWeakKey) || k != nil {
			t.Errorf("NewKey(32 × %#02x) = %v, %v; want ErrWeakKey", b, k, err)
		}
	}
	if len(crypto.SampleSecrets) < 4 {
		t.Errorf("only %d sample secrets", len(crypto.SampleSecrets))
	}
	for i, s := range crypto.SampleSecrets {
		if k, err := crypto.NewKey(s[:]); !errors.Is(err, crypto.ErrWeakKey) || k != nil {
			t.Errorf("NewKey(sample %d) = %v, %v; want ErrWeakKey", i, k, err)
		}
		if _, err := crypto.NewKeyUnchecked(s[:]); err != nil {
			t.Errorf("sample %d is not otherwise a valid key: %v", i, err)
		}
		// A sample with one bit changed is a different, accepted key: the
		// comparison is exact.
		near := s
		near[31] ^= 0x01
		if _, err := crypto.NewKey(near[:]); err != nil {
			t.Errorf("NewKey(sample %d with a bit flipped) = %v", i, err)
		}
	}
	// NewKey copies its input.
	s := bytes.Clone(secretOf(t, newTestKey(t)))
	k, err := crypto.NewKey(s)
	if err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(s)
	s[0] ^= 0xff
	if !bytes.Equal(secretOf(t, k), orig) {
		t.Error("NewKey kept a reference to its input")
	}
}

func TestParseKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for range 16 {
		k := newTestKey(t)
		text := k.SecretText()
		if len(text) != 62 || !strings.HasPrefix(text, "crumbkey1_"+k.ID().String()+"_") {
			t.Fatalf("SecretText has the wrong shape (length %d)", len(text))
		}
		p, err := crypto.ParseKey(text)
		if err != nil {
			t.Fatalf("ParseKey(SecretText) = %v", err)
		}
		if !p.Equal(k) || p.ID() != k.ID() || p.SecretText() != text {
			t.Fatal("ParseKey(SecretText) is not the same key")
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	// "uppercase ID" needs an ID with a letter in it (all-digit IDs, about
	// 2% of keys, read the same in either case).
	for !strings.ContainsAny(k.ID().String(), "abcdef") {
		k = newTestKey(t)
	}
	text := k.SecretText()
	id := text[10:18]
	secret := text[19:]
	at := func(i int, c string) string { return text[:i] + c + text[i+1:] }
	otherID := []byte(id)
	if otherID[7] == '0' {
		otherID[7] = '1'
	} else {
		otherID[7] = '0'
	}
	lastNonCanonical := alphabet[strings.IndexByte(alphabet, text[len(text)-1])|1]
	zero := "crumbkey1_" + hex.EncodeToString(hkdfSHA256(t, make([]byte, 32), "crumb/v1/key-id", 4)) + "_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))

	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", crypto.ErrKey},
		{"prefix only", "crumbkey1_", crypto.ErrKey},
		{"secret alone", secret, crypto.ErrKey},
		{"wrong prefix version", "crumbkey2" + text[9:], crypto.ErrKey},
		{"uppercase prefix", "CRUMBKEY1" + text[9:], crypto.ErrKey},
		{"other prefix", "crumbkeyx_" + text[10:], crypto.ErrKey},
		{"dash after prefix", "crumbkey1-" + text[10:], crypto.ErrKey},
		{"one character short", text[:len(text)-1], crypto.ErrKey},
		{"one character long", text + "A", crypto.ErrKey},
		{"padded", text + "=", crypto.ErrKey},
		{"leading space", " " + text, crypto.ErrKey},
		{"trailing newline", text + "\n", crypto.ErrKey},
		{"separator not _", at(18, "-"), crypto.ErrKey},
		{"uppercase ID", "crumbkey1_" + strings.ToUpper(id) + "_" + secret, crypto.ErrKey},
		{"uppercase hex digit", at(10, "F"), crypto.ErrKey},
		{"non-hex ID", at(12, "g"), crypto.ErrKey},
		{"ID with a space", at(12, " "), crypto.ErrKey},
		{"padding in secret", at(len(text)-1, "="), crypto.ErrKey},
		{"plus in secret", at(25, "+"), crypto.ErrKey},
		{"slash in secret", at(25, "/"), crypto.ErrKey},
		{"dot in secret", at(25, "."), crypto.ErrKey},
		{"CR in secret", at(25, "\r"), crypto.ErrKey},
		{"LF in secret", at(25, "\n"), crypto.ErrKey},
		{"non-ASCII in secret", at(25, "\xff"), crypto.ErrKey},
		{"non-canonical trailing bits", at(len(text)-1, string(lastNonCanonical)), crypto.ErrKey},
		{"ID does not match", "crumbkey1_" + string(otherID) + "_" + secret, crypto.ErrKey},
		{"secret changed", at(30, string(alphabet[(strings.IndexByte(alphabet, text[30])+1)%64])), crypto.ErrKey},
		{"sample key", "crumbkey1_ad681e4c_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", crypto.ErrWeakKey},
		{"all-zero key", zero, crypto.ErrWeakKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := crypto.ParseKey(c.in)
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("ParseKey = %v, %v; want %v", got, err, c.want)
			}
			msg := err.Error()
			if len(c.in) > 19 && strings.Contains(msg, c.in) {
				t.Errorf("error contains the input: %s", msg)
			}
			for _, s := range []string{secret, c.in[min(19, len(c.in)):]} {
				for i := 0; i+8 <= len(s); i++ {
					if strings.Contains(msg, s[i:i+8]) {
						t.Fatalf("error %q contains %q from the secret part", msg, s[i:i+8])
					}
				}
			}
		})
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	s := k.ID().String()
	if len(s) != 8 || strings.ToLower(s) != s {
		t.Errorf("KeyID.String = %q, want 8 lowercase hex digits", s)
	}
	id, err := crypto.ParseKeyID(s)
	if err != nil || id != k.ID() {
		t.Errorf("ParseKeyID(%q) = %v, %v; want %v", s, id, err, k.ID())
	}
	if id, err := crypto.ParseKeyID("00ff10ab"); err != nil || id != (crypto.KeyID{0x00, 0xff, 0x10, 0xab}) || id.String() != "00ff10ab" {
		t.Errorf("ParseKeyID(00ff10ab) = %v, %v", id, err)
	}
	for _, bad := range []string{"", "abc", "abcdef1", "abcdef123", "ABCDEF12", "abcdeF12", "abcdefgh", "abcd ef1", "0xabcdef", "abcdef1\n", "ab\xc3\xa9ef12"} {
		if id, err := crypto.ParseKeyID(bad); !errors.Is(err, crypto.ErrKey) || id != (crypto.KeyID{}) {
			t.Errorf("ParseKeyID(%q) = %v, %v; want ErrKey", bad, id, err)
		}
	}
}

// TestKeyFormatting proves that no fmt verb or log call prints the secret,
// in any representation, of a *Key or a Key value.
func TestKeyFormatting(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	secret := secretOf(t, k)
	want := "crumb key " + k.ID().String()
	if k.String() != want || fmt.Sprintf("%#v", k) != want {
		t.Errorf("String = %q, %%#v = %q; want %q", k.String(), fmt.Sprintf("%#v", k), want)
	}
	var logged bytes.Buffer
	log.New(&logged, "", 0).Printf("key %v %+v %s", k, k, k)

	verbs := []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "% x", "%d", "%b", "%o", "%O", "%c", "%U", "%e", "%E", "%f", "%g", "%G", "%t", "%p", "%T", "%10.3v", "%#+v", "%z"}
	var outputs []string
	for _, v := range verbs {
		outputs = append(outputs, fmt.Sprintf(v, k), fmt.Sprintf(v, *k), fmt.Sprintf(v, []*crypto.Key{k}), fmt.Sprintf(v, struct{ K *crypto.Key }{k}))
		// Where fmt cannot call Format: unexported fields, by value and
		// by pointer, alone, in slices, arrays and maps, and nested.
		for _, held := range keyHolders(k) {
			outputs = append(outputs, fmt.Sprintf(v, held))
		}
	}
	outputs = append(outputs, fmt.Sprint(k), fmt.Sprintln(k), logged.String())
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("key", "k", k, "v", *k)
		for _, held := range keyHolders(k) {
			l.Info("held", "h", held)
		}
	}
	outputs = append(outputs, logs.String())

	forbidden := []string{k.SecretText(), k.SecretText()[19:], hex.EncodeToString(secret)[:16], strings.ToUpper(hex.EncodeToString(secret))[:16]}
	for _, v := range verbs {
		if v == "%T" || v == "%p" {
			continue // they print no content
		}
		// The secret's own rendering with each verb, without brackets.
		r := strings.Trim(fmt.Sprintf(v, [32]byte(secret)), "[]{}\"")
		if i := strings.IndexAny(r, "{"); i >= 0 {
			r = r[i+1:]
		}
		forbidden = append(forbidden, r[:min(len(r), 48)])
	}
	for _, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Fatalf("formatted key %q contains the secret rendered as %q", out, f)
			}
		}
	}
	for _, v := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(v, k); got != want {
			t.Errorf("Sprintf(%q, k) = %q, want %q", v, got, want)
		}
	}
}

// keyHolders returns values that hold k where fmt cannot reach its methods:
// in unexported fields, by value and by pointer, directly and inside
// slices, arrays, maps, interfaces and nested structs.
func keyHolders(k *crypto.Key) []any {
	type inner struct {
		k crypto.Key
		p *crypto.Key
	}
	return []any{
		struct{ k crypto.Key }{*k},
		struct{ p *crypto.Key }{k},
		struct{ ks []crypto.Key }{[]crypto.Key{*k}},
		struct{ ps []*crypto.Key }{[]*crypto.Key{k}},
		struct{ a [1]crypto.Key }{[1]crypto.Key{*k}},
		struct{ m map[string]crypto.Key }{map[string]crypto.Key{"k": *k}},
		struct{ i any }{*k},
		struct{ n inner }{inner{*k, k}},
		struct{ n *inner }{&inner{*k, k}},
		&struct{ n inner }{inner{*k, k}},
	}
}

func TestDerive(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	purposes := []string{"a", "b", "cookiesession", "csrf", "tenant/1", "tenant/10", "é", " "}
	keys := map[string]*crypto.Key{}
	for _, p := range purposes {
		d, err := k.Derive(p)
		if err != nil {
			t.Fatalf("Derive(%q) = %v", p, err)
		}
		again, err := k.Derive(p)
		if err != nil || !d.Equal(again) || d.ID() != again.ID() {
			t.Errorf("Derive(%q) twice gives different keys", p)
		}
		if d.Equal(k) || d.ID() == k.ID() {
			t.Errorf("Derive(%q) equals its parent", p)
		}
		if want := hkdfSHA256(t, secretOf(t, k), "crumb/v1/derive/"+p, 32); !bytes.Equal(secretOf(t, d), want) {
			t.Errorf("Derive(%q) is not HKDF-SHA256(secret, \"crumb/v1/derive/\"+purpose)", p)
		}
		for q, other := range keys {
			if d.Equal(other) || d.ID() == other.ID() {
				t.Errorf("Derive(%q) and Derive(%q) share a key or ID", p, q)
			}
		}
		keys[p] = d
	}
	// A derived key seals values its parent does not open, and vice versa.
	d := keys["cookiesession"]
	sealed, err := d.Seal(nil, []byte("x"), cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := d.Open(nil, sealed, cookieContext); err != nil || string(out) != "x" {
		t.Errorf("derived key round trip = %q, %v", out, err)
	}
	out, err := k.Open(nil, sealed, cookieContext)
	wantInvalid(t, "parent opens derived value", out, err, crypto.ReasonUnknownKey)
	// Derivation is per key: another key's subkey differs.
	if od, err := newTestKey(t).Derive("cookiesession"); err != nil || od.Equal(d) {
		t.Errorf("two keys derive the same subkey: %v", err)
	}
	// Derived keys derive further.
	dd, err := d.Derive("cookiesession")
	if err != nil || dd.Equal(d) {
		t.Errorf("Derive of a derived key = %v, equal %v", err, dd.Equal(d))
	}
	if got, err := k.Derive(""); !errors.Is(err, crypto.ErrKey) || got != nil {
		t.Errorf("Derive(\"\") = %v, %v; want ErrKey", got, err)
	}
}

func TestEqualNil(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	var nilKey *crypto.Key
	if k.Equal(nil) {
		t.Error("k.Equal(nil) = true")
	}
	if nilKey.Equal(k) {
		t.Error("nil.Equal(k) = true")
	}
	if !nilKey.Equal(nil) {
		t.Error("nil.Equal(nil) = false")
	}
	p, err := crypto.ParseKey(k.SecretText())
	if err != nil || !k.Equal(p) || !p.Equal(k) {
		t.Errorf("Equal(ParseKey(SecretText)) = false, %v", err)
	}
}

// TestNewKeyWeak checks that material which is plainly not random is
// refused, and that each rule looks at every byte.
func TestNewKeyWeak(t *testing.T) {
	t.Parallel()
	seq := func(start, step byte) []byte {
		b := make([]byte, crypto.KeySize)
		for i := range b {
			b[i] = start + byte(i)*step
		}
		return b
	}
	// distinctText is 32 distinct printable characters.
	distinctText := []byte("Zq8#vN2!pL5@xR7$kT1%wM4^yB6&cD9*")
	random := secretOf(t, newTestKey(t))
	tests := []struct {
		name   string
		secret []byte
	}{
		{"all zero", make([]byte, crypto.KeySize)},
		{"all 0xff", bytes.Repeat([]byte{0xff}, crypto.KeySize)},
		{"counting up", seq(0, 1)},
		{"counting up from 0xf0, wrapping", seq(0xf0, 1)},
		{"counting down", seq(0xff, 0xff)},
		{"steps of 7", seq(3, 7)},
		{"password", []byte("correct horse battery staple 123")},
		{"distinct printable characters", distinctText},
		{"text with tab and newlines", []byte("secret\tkey\r\nfor the app\nv2  2026")},
		{"hex string", []byte(hex.EncodeToString(random[:16]))},
		{"base64 string", []byte(base64.RawURLEncoding.EncodeToString(random[:24]))},
		{"16 bytes repeated", append(bytes.Clone(random[:16]), random[:16]...)},
		{"short secret zero-padded", append(bytes.Clone(random[:15]), make([]byte, 17)...)},
		{"one byte set", append([]byte{1}, make([]byte, 31)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := crypto.NewKey(tt.secret)
			if !errors.Is(err, crypto.ErrWeakKey) || k != nil {
				t.Errorf("NewKey = %v, %v; want ErrWeakKey", k, err)
			}
			if err != nil && strings.Contains(err.Error(), string(tt.secret[:8])) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
	// Every byte takes part in each rule: changing any one byte of a
	// progression or of text to a value that breaks the rule gives a key.
	for i := range crypto.KeySize {
		p := seq(0, 1)
		p[i] = 0xaa
		if _, err := crypto.NewKey(p); err != nil {
			t.Errorf("NewKey(0, 1, … with byte %d = 0xaa) = %v, want a key", i, err)
		}
		txt := bytes.Clone(distinctText)
		txt[i] = 0x80
		if _, err := crypto.NewKey(txt); err != nil {
			t.Errorf("NewKey(text with byte %d = 0x80) = %v, want a key", i, err)
		}
	}
	// 17 distinct values, in no progression, not text: accepted.
	d := make([]byte, crypto.KeySize)
	for i := range d {
		d[i] = byte(i%17) * 15 // 0, 15, ..., 240: includes bytes below 0x20 and above 0x7e
	}
	if _, err := crypto.NewKey(d); err != nil {
		t.Errorf("NewKey(17 distinct values) = %v, want a key", err)
	}
	d[16] = 0 // now 16 distinct values
	if _, err := crypto.NewKey(d); !errors.Is(err, crypto.ErrWeakKey) {
		t.Errorf("NewKey(16 distinct values) = %v, want ErrWeakKey", err)
	}
}

// TestNewKeyAcceptsRandom checks the other side: random material is
// accepted (a false refusal has probability below 2⁻⁴² per key, so 20,000
// keys all pass unless a rule is wrong).
func TestNewKeyAcceptsRandom(t *testing.T) {
	t.Parallel()
	n := 20000
	if testing.Short() {
		n = 2000
	}
	b := make([]byte, crypto.KeySize)
	for range n {
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.NewKey(b); err != nil {
			t.Fatalf("NewKey(random) = %v", err)
		}
	}
}

// TestNewKeyUncheckedLength: the test hook refuses material that is not 32
// bytes, as NewKey does, instead of padding or truncating it.
func TestNewKeyUncheckedLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 31, 33} {
		if _, err := crypto.NewKeyUnchecked(make([]byte, n)); !errors.Is(err, crypto.ErrKey) {
			t.Errorf("%d bytes: got %v, want ErrKey", n, err)
		}
	}
}
