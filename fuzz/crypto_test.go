package fuzz_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
)

// fuzzKey is a fixed key, so that every fuzz worker process holds the same
// key and the sealed seeds below stay valid. Its material is public: it is
// only for these targets.
var fuzzKey = func() *crypto.Key {
	s := sha256.Sum256([]byte("crumb/fuzz: published test key, never use"))
	k, err := testhook.NewKeyUnchecked(s[:]) // published, so NewKey refuses it
	if err != nil {
		panic(err)
	}
	return k.(*crypto.Key)
}()

var fuzzContext = format.AdditionalData("crumb/fuzz", "__Host-session")

// roundTripKey is a fresh key per process for FuzzRoundTrip, which seals:
// nothing it seals can open under fuzzKey.
var roundTripKey = func() *crypto.Key {
	k, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}()

// sealedSeeds are the only values fuzzKey has ever sealed (once, offline):
// no target seals with it, so any other text that opens is a forgery. Each
// maps to its plaintext.
var sealedSeeds = map[string][]byte{
	"AQEc8-_APSklu65NT19tX6t4wufQCAD1sZswrEe1c7ph2k031Z0no0SBoGmzEA":             {},
	"AQEc8-_AJhfIDboKHDjD84KjwKYjpp0FutstkW9Se4w7i1xwd7c587MJ4D0V9XYgUS18uXcfCQ": []byte("fuzz seed"),
	"AQEc8-_A6ed581UMHzci2v7AfF3T1ARaI3ELXfLISLS_T3EM2fNuzS01aPDWyauMu-3e4L_ftY-Tfkh2enqrFKOh3Ivz2Qd6rWokc7i05gZOAcoSXkE6mG4Krwu5lQnStARmiAdFbKrOYvbySrOHX9jLsSgUmk0Xnr-bUmSbl7lAWcR0NPW5u5Ajt5qeto9DJtc": cryptoPattern(100),
}

func cryptoPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	return b
}

// cryptoVector is the part of crypto/testdata/vectors.json the seeds use.
type cryptoVector struct {
	ContextFields []string `json:"context_fields"`
	Plaintext     string   `json:"plaintext"`
	Sealed        string   `json:"sealed"`
	Text          string   `json:"text"`
}

func loadCryptoVectors(f *testing.F) []cryptoVector {
	f.Helper()
	data, err := os.ReadFile("../crypto/testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var file struct{ Vectors []cryptoVector }
	if err := json.Unmarshal(data, &file); err != nil {
		f.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		f.Fatal("no vectors")
	}
	return file.Vectors
}

// tamperedTexts returns broken variants of a valid text: one bit flipped in each
// field, truncated, extended, non-canonical and with stray characters.
func tamperedTexts(text string) []string {
	sealed, err := decodeText(text)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, i := range []int{0, 1, 2, format.HeaderSize, format.HeaderSize + format.NonceSize, len(sealed) - 1} {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		out = append(out, format.Encode(b))
	}
	for _, c := range []byte{0, 2, 10, 11, 255} {
		b := bytes.Clone(sealed)
		b[1] = c
		out = append(out, format.Encode(b))
	}
	last := text[len(text)-1]
	return append(out,
		text[:len(text)-1],
		text[:format.MinTextLen-1],
		text[:format.HeaderTextLen],
		text+"A",
		text+"AAAA",
		text[:len(text)-1]+string(last^1),
		text+"==",
		text[:10]+"\r\n"+text[10:],
		`"`+text+`"`,
		text[:5]+"+/"+text[7:],
	)
}

// FuzzOpen checks that Decode and Open never panic on any text; that every
// failure is the uniform ErrInvalid with a nil result and at most one AEAD
// open (none before the key ID matches); that PeekHeader agrees with the
// decoded header; and that nothing opens under fuzzKey except the values
// it sealed (sealedSeeds), with exactly their plaintexts.
func FuzzOpen(f *testing.F) {
	for text := range sealedSeeds {
		f.Add(text)
		for _, bad := range tamperedTexts(text) {
			f.Add(bad)
		}
	}
	for _, v := range loadCryptoVectors(f) {
		f.Add(v.Text)
		for _, bad := range tamperedTexts(v.Text) {
			f.Add(bad)
		}
	}
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		sealed, err := decodeText(text)
		if err != nil {
			if sealed != nil || !errors.Is(err, crypto.ErrInvalid) || crypto.ReasonOf(err) != crypto.ReasonMalformed {
				t.Fatalf("Decode = %d bytes, %v (reason %v)", len(sealed), err, crypto.ReasonOf(err))
			}
			return
		}
		h, ok := format.PeekHeader(text)
		if !ok {
			t.Fatalf("Parse accepted a text PeekHeader refuses")
		}
		if ph, ok := format.ParseHeader(sealed); !ok || ph != h {
			t.Fatalf("ParseHeader = %+v, %v; PeekHeader = %+v", ph, ok, h)
		}
		before := testhook.Opens(fuzzKey)
		out, err := fuzzKey.Open(nil, sealed, fuzzContext)
		opens := testhook.Opens(fuzzKey) - before
		if err != nil {
			if out != nil || !errors.Is(err, crypto.ErrInvalid) {
				t.Fatalf("Open = %d bytes, %v", len(out), err)
			}
			switch r := crypto.ReasonOf(err); {
			case r == crypto.ReasonUnknownKey && crypto.KeyID(h.KeyID) != fuzzKey.ID() && opens == 0:
			case r == crypto.ReasonUnauthentic && crypto.KeyID(h.KeyID) == fuzzKey.ID() && opens == 1:
			default:
				t.Fatalf("Open failed with reason %v after %d AEAD opens", r, opens)
			}
			return
		}
		want, ok := sealedSeeds[text]
		if !ok {
			t.Fatalf("forgery: %q opened to %x", text, out)
		}
		if !bytes.Equal(out, want) || opens != 1 {
			t.Fatalf("Open(seed) = %x after %d AEAD opens, want %x", out, opens, want)
		}
	})
}

// FuzzDecodeCanonical checks that the text form is canonical: every text
// format.Parse accepts re-encodes to itself, and PeekHeader agrees with
// ParseHeader of the decoded bytes; and, read as a sealed value, any input
// with a valid header survives Encode then Parse unchanged.
func FuzzDecodeCanonical(f *testing.F) {
	for _, v := range loadCryptoVectors(f) {
		f.Add(v.Text)
		sealed, err := hex.DecodeString(v.Sealed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(sealed))
		for _, bad := range tamperedTexts(v.Text) {
			f.Add(bad)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := format.Parse(s)
		h, pok := format.PeekHeader(s)
		if ok {
			if enc := format.Encode(v.Sealed); enc != s {
				t.Fatalf("Encode(Parse(%q)) = %q", s, enc)
			}
			if enc := format.AppendEncode([]byte("x"), v.Sealed); string(enc) != "x"+s {
				t.Fatalf("AppendEncode disagrees with Encode")
			}
			ph, phok := format.ParseHeader(v.Sealed)
			if !pok || !phok || ph != h || v.Header != h {
				t.Fatalf("PeekHeader = %+v, %v; ParseHeader(Parse) = %+v, %v; Parse header %+v", h, pok, ph, phok, v.Header)
			}
		} else if v.Sealed != nil {
			t.Fatalf("Parse failed with %d bytes of output", len(v.Sealed))
		}
		if !pok && h != (format.Header{}) {
			t.Fatalf("PeekHeader failed with %+v", h)
		}

		// The other direction: the input as a sealed value.
		b := []byte(s)
		if bh, ok := format.ParseHeader(b); ok {
			text := format.Encode(b)
			back, ok := format.Parse(text)
			if !ok || !bytes.Equal(back.Sealed, b) {
				t.Fatalf("Parse(Encode(%x)) = %x, %v", b, back.Sealed, ok)
			}
			if th, ok := format.PeekHeader(text); !ok || th != bh {
				t.Fatalf("PeekHeader(Encode) = %+v, %v; want %+v", th, ok, bh)
			}
		}
	})
}

// FuzzRoundTrip checks that Seal then Open gives back exactly the
// plaintext, through the text form too, for any plaintext and context
// fields; and that the value opens under no other context.
func FuzzRoundTrip(f *testing.F) {
	for _, v := range loadCryptoVectors(f) {
		pt, err := hex.DecodeString(v.Plaintext)
		if err != nil {
			f.Fatal(err)
		}
		fields := append(append([]string{}, v.ContextFields...), "", "", "")
		f.Add(pt, uint8(len(v.ContextFields)), fields[0], fields[1], fields[2])
	}
	f.Add([]byte("x"), uint8(2), "ab", "c", "")
	f.Fuzz(func(t *testing.T, plaintext []byte, n uint8, f1, f2, f3 string) {
		fields := []string{f1, f2, f3}[:n%4]
		ctx := format.AdditionalData(fields...)
		sealed, err := roundTripKey.Seal(nil, plaintext, ctx)
		if len(plaintext) > crypto.MaxPlaintext {
			if !errors.Is(err, crypto.ErrTooLong) || sealed != nil {
				t.Fatalf("Seal(%d bytes) = %d bytes, %v; want ErrTooLong", len(plaintext), len(sealed), err)
			}
			return
		}
		if err != nil || len(sealed) != len(plaintext)+crypto.Overhead {
			t.Fatalf("Seal = %d bytes, %v", len(sealed), err)
		}
		text := format.Encode(sealed)
		back, err := decodeText(text)
		if err != nil || !bytes.Equal(back, sealed) {
			t.Fatalf("Decode(Encode) = %v", err)
		}
		out, err := roundTripKey.Open(nil, back, ctx)
		if err != nil || !bytes.Equal(out, plaintext) {
			t.Fatalf("Open = %x, %v; want %x", out, err, plaintext)
		}

		others := [][]string{append(append([]string{}, fields...), "")}
		if len(fields) > 0 {
			others = append(others, fields[:len(fields)-1])
			changed := append([]string{}, fields...)
			changed[0] += "\x00"
			others = append(others, changed)
		}
		if len(fields) >= 2 && len(fields[0]) > 0 {
			// Move a byte across the boundary: ("ab", "c") → ("a", "bc").
			moved := append([]string{}, fields...)
			moved[0], moved[1] = fields[0][:len(fields[0])-1], fields[0][len(fields[0])-1:]+fields[1]
			others = append(others, moved)
		}
		for _, o := range others {
			out, err := roundTripKey.Open(nil, sealed, format.AdditionalData(o...))
			if out != nil || crypto.ReasonOf(err) != crypto.ReasonUnauthentic {
				t.Fatalf("Open under %q (sealed under %q) = %x, %v", o, fields, out, err)
			}
		}
	})
}

// decodeText parses a text form as the session layer does, failing with
// the uniform malformed error.
func decodeText(text string) ([]byte, error) {
	v, ok := format.Parse(text)
	if !ok {
		return nil, crypto.Invalid(crypto.ReasonMalformed)
	}
	return v.Sealed, nil
}
