package fuzz_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// keyTextPrefix starts every key's text form. It is public, and error
// messages name it as the expected format.
const keyTextPrefix = "crumbkey1_"

// fuzzSource names the key list in ParseKeys errors. It is shorter than the
// 8-character windows checked, so it cannot be mistaken for key material.
const fuzzSource = "fz"

// FuzzParseKeys feeds arbitrary text to rotation.ParseKeys. Properties:
//
//   - it never panics;
//   - it returns a ring or an error, never both and never neither;
//   - a returned ring is valid (one primary, first; at most 8 keys)
//     and holds only keys whose text appears in the input;
//   - an error is a *ParseError or matches ErrKeyring;
//   - no error message contains any 8-character substring of any
//     "crumbkey1_" key text found in the input (after its public prefix),
//     unless that substring is part of the package's own fixed wording; a
//     key ID, which is public, may appear only in errors that are not
//     *ParseError (a duplicate key is named by its ID).
func FuzzParseKeys(f *testing.F) {
	k := make([]string, maxKeys+1)
	for i := range k {
		key, err := crypto.GenerateKey()
		if err != nil {
			f.Fatalf("GenerateKey: %v", err)
		}
		k[i] = key.SecretText()
	}
	entries := func(n int, sep string) string {
		parts := []string{"primary " + k[0]}
		for _, t := range k[1:n] {
			parts = append(parts, "decrypt-only "+t)
		}
		return strings.Join(parts, sep)
	}
	const t0 = "2026-01-01T00:00:00Z"
	for _, seed := range []string{
		// Valid lists.
		"primary " + k[0],
		"primary " + k[0] + "\ndecrypt-only " + k[1] + " demoted=" + t0 + "\n",
		"# keys\r\n\r\n  primary\t" + k[0] + " added=" + t0 + "\r\ndecrypt-only " + k[1] + " added=" + t0 + " demoted=2026-02-01T10:00:00+01:00\r\n",
		"primary " + k[0] + "; decrypt-only " + k[1] + ";decrypt-only " + k[2] + ";",
		entries(maxKeys, "\n"),
		entries(maxKeys, ";"),
		"decrypt-only " + k[1] + "\n# primary below\nprimary " + k[0],
		// Broken entries.
		"",
		"#",
		";;;\n;",
		"primary",
		"primary;decrypt-only",
		"secondary " + k[0],
		k[0] + " primary",
		"primary " + k[0] + " added=yesterday",
		"primary " + k[0] + " added=" + t0 + " added=" + t0,
		"primary " + k[0] + " added=0001-01-01T00:00:00Z added=" + t0,
		"primary " + k[0] + " demoted",
		"primary " + k[0] + " expires=" + t0,
		"primary " + k[0] + " " + k[1],
		"primary " + k[0] + " added=" + k[1],
		"primary " + k[0][:len(k[0])-1],
		"primary " + k[0][:40] + "\n" + k[0][40:],
		"primary " + mistype(k[0]),
		"primary " + k[0][:len(k[0])-1] + "B",
		"primary " + keyTextPrefix + "zzzzzzzz" + k[0][len(keyTextPrefix)+8:],
		"primary " + keyTextPrefix + "00000000_" + strings.Repeat("A", 43),
		"primary " + keyTextPrefix,
		"primary " + k[0] + "\xff\xfe",
		"\ufeffprimary " + k[0],
		// Lists that are not rings.
		entries(maxKeys+1, "\n"),
		entries(maxKeys+1, ";"),
		"decrypt-only " + k[0],
		"primary " + k[0] + "\nprimary " + k[1],
		"primary " + k[0] + ";decrypt-only " + k[0],
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, text string) {
		r, err := rotation.ParseKeys(fuzzSource, text)
		if (r == nil) == (err == nil) {
			t.Fatalf("ParseKeys returned ring %v and error %v; want exactly one", r != nil, err != nil)
		}
		if err == nil {
			checkParsedRing(t, r, text)
			return
		}
		var pe *rotation.ParseError
		isParseError := errors.As(err, &pe)
		if !isParseError && !errors.Is(err, rotation.ErrKeyring) {
			t.Fatalf("ParseKeys error is %T, want *ParseError or ErrKeyring", err)
		}
		msg := err.Error()
		for _, kt := range keyTexts(text) {
			first := 0
			if !isParseError {
				first = 1 // skip the key ID, the only window wholly inside it
			}
			for i := first; i+8 <= len(kt); i++ {
				w := kt[i : i+8]
				if strings.Contains(msg, w) && !strings.Contains(vocabulary(), w) {
					// Never print the message or the window: they are
					// key material.
					t.Fatalf("error (ParseError: %v) contains 8 characters of a key text at offset %d after its prefix",
						isParseError, i)
				}
			}
		}
	})
}

func checkParsedRing(t *testing.T, r *rotation.Keyring, text string) {
	t.Helper()
	es := r.Entries()
	if len(es) == 0 || len(es) > maxKeys {
		t.Fatalf("ring has %d keys, want 1..%d", len(es), maxKeys)
	}
	for i, e := range es {
		if (e.State == rotation.Primary) != (i == 0) {
			t.Fatalf("entry %d has state %v; want the one primary first", i, e.State)
		}
		if !strings.Contains(text, e.Key.SecretText()) {
			t.Fatalf("ring holds key %v, which is not in the input", e.Key)
		}
	}
	if es[0].Key != r.Primary() {
		t.Fatal("Primary() is not the first entry")
	}
}

// keyTexts returns, for every "crumbkey1_" in text, the key-alphabet
// characters that follow it, up to a key text's length.
func keyTexts(text string) []string {
	var out []string
	for {
		i := strings.Index(text, keyTextPrefix)
		if i < 0 {
			return out
		}
		text = text[i+len(keyTextPrefix):]
		n := 0
		for n < len(text) && n < keyTextLen-len(keyTextPrefix) && isKeyChar(text[n]) {
			n++
		}
		if n >= 8 {
			out = append(out, text[:n])
		}
	}
}

func isKeyChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// vocabulary is the fixed wording of every error ParseKeys can return,
// gathered by provoking each one with a fresh key. An 8-character window
// found in it is the package speaking ("rotation", "decrypt-only",
// "unpadded base64url"), not key material: a key text that happens to
// spell such words must not fail the property.
var vocabulary = sync.OnceValue(func() string {
	var msgs []string
	keys := make([]string, maxKeys+1)
	for i := range keys {
		k, err := crypto.GenerateKey()
		if err != nil {
			panic(err)
		}
		keys[i] = k.SecretText()
	}
	k0 := keys[0]
	var many []string
	for _, kt := range keys {
		many = append(many, "decrypt-only "+kt)
	}
	const t0 = "2026-01-01T00:00:00Z"
	for _, text := range []string{
		"", "x", "primary", "primary x", "decrypt-only " + k0, "primary " + k0 + "; primary " + keys[1],
		"primary " + k0 + "; decrypt-only " + k0, strings.Join(many, "\n"), strings.Join(many, ";"),
		"primary " + k0 + " x=1", "primary " + k0 + " added=x", "primary " + k0 + " demoted=x",
		"primary " + k0 + " added=" + t0 + " added=" + t0, "primary " + k0 + " demoted=" + t0 + " demoted=" + t0,
	} {
		for _, source := range []string{fuzzSource, ""} {
			if _, err := rotation.ParseKeys(source, text); err != nil {
				msgs = append(msgs, err.Error())
			}
		}
	}
	for _, text := range []string{
		"", k0[:len(k0)-1], k0[:len(k0)-1] + "B", k0[:30] + "!" + k0[31:], mistype(k0),
		keyTextPrefix + "zzzzzzzz" + k0[len(keyTextPrefix)+8:], keyTextPrefix + "00000000_" + strings.Repeat("A", 43),
		strings.ToUpper(k0),
	} {
		if _, err := crypto.ParseKey(text); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	return strings.Join(msgs, "\n")
})

// mistype returns a key text with one secret character changed: well
// formed, but its ID no longer matches.
func mistype(text string) string {
	i := len(text) - 20
	c := "A"
	if text[i] == 'A' {
		c = "B"
	}
	return text[:i] + c + text[i+1:]
}

// maxKeys is the most keys a keyring holds, as package rotation documents.
const maxKeys = 8

// keyTextLen is the length of a key's text form, as docs/FORMAT.md gives.
const keyTextLen = 62
