package crypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/crumbhq/crumb/internal/aead"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
)

// HKDF-SHA256 info labels. Each one is used for exactly one purpose and
// carries the format version, so no derived value is ever used twice.
const (
	labelKeyID  = "crumb/v1/key-id"
	labelAEAD   = "crumb/v1/aead"
	labelDerive = "crumb/v1/derive/"
)

// keyTextPrefix starts the text form of a key. It makes keys easy to spot
// for people and for secret scanners.
const keyTextPrefix = "crumbkey1_"

// keyTextLen is the length of a key's text form.
const keyTextLen = len(keyTextPrefix) + 2*format.KeyIDSize + 1 + 43

// KeyID names a key inside sealed values: 4 bytes, derived from the key
// with HKDF under its own label, so it reveals nothing about the key, and
// it is not secret.
type KeyID [format.KeyIDSize]byte

// String returns the ID as 8 lowercase hexadecimal digits.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// ParseKeyID parses the form printed by [KeyID.String].
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if len(s) != 2*format.KeyIDSize || strings.ToLower(s) != s {
		return id, fmt.Errorf("%w: key ID must be %d lowercase hex digits", ErrKey, 2*format.KeyIDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return KeyID{}, fmt.Errorf("%w: key ID must be %d lowercase hex digits", ErrKey, 2*format.KeyIDSize)
	}
	return id, nil
}

// A Key is 32 bytes of secret key material with its ID. The AEAD key that
// seals values is derived from it with HKDF ("crumb/v1/aead"), and so is the
// ID ("crumb/v1/key-id"); the material itself encrypts nothing.
//
// A Key is immutable and safe for concurrent use. Its String method prints
// only the ID: formatting a Key with the fmt or log packages never reveals
// the secret. Use [Key.SecretText] to export it.
type Key struct {
	id KeyID
	// material returns the secret and the AEAD built from it. They are
	// captured by a closure rather than held in fields because fmt, and any
	// other reflection-based printer, walks the fields of a value it cannot
	// call methods on (a Key in an unexported struct field, where Format is
	// out of reach) and dereferences a pointer field it meets with a verb
	// it does not expect. A func prints as an address in every position,
	// and no reflection reaches what a closure captured.
	material func() *keyMaterial
}

// keyMaterial is what a Key must keep secret.
type keyMaterial struct {
	secret [KeySize]byte
	aead   *aead.AEAD
}

// GenerateKey returns a new random key from crypto/rand.
func GenerateKey() (*Key, error) {
	var secret [KeySize]byte
	for {
		rand.Read(secret[:]) // never fails: Go crashes the program instead (go.dev/issue/66821)
		// Random material looks weak to NewKey with probability below
		// 2⁻⁴²; draw again rather than fail.
		if weakness(secret[:]) == "" {
			return newKey(secret[:])
		}
	}
}

// NewKey returns the key for 32 bytes of uniformly random secret material,
// such as bytes from crypto/rand. It does not keep a reference to secret.
//
// It returns an error matching [ErrKey] if secret is not 32 bytes, and one
// matching [ErrWeakKey] if it is plainly not random: all its bytes equal,
// bytes counting up or down in equal steps (00 01 02 …), only printable
// ASCII, tabs and line breaks (a password, a passphrase, a hex or base64
// string passed as bytes), fewer than 17 distinct byte values (a short
// secret repeated or padded with zeros), or a sample key published with
// crumb. Random material meets one of these with probability below 2⁻⁴².
// Passwords and other low-entropy secrets must not be used: there is
// deliberately no password-based constructor.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("%w: key material must be %d bytes, got %d", ErrKey, KeySize, len(secret))
	}
	if why := weakness(secret); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrWeakKey, why)
	}
	return newKey(secret)
}

// newKey derives the ID and AEAD of secret without the weak-key check. Only
// test vectors, which use published keys on purpose, call it directly.
func newKey(secret []byte) (*Key, error) {
	m := new(keyMaterial)
	copy(m.secret[:], secret)
	k := &Key{material: func() *keyMaterial { return m }}
	copy(k.id[:], derive(secret, labelKeyID, format.KeyIDSize))
	var err error
	m.aead, err = aead.New(derive(secret, labelAEAD, aead.KeySize))
	if err != nil {
		// FIPS 140-only mode refuses XChaCha20-Poly1305.
		return nil, fmt.Errorf("crumb: XChaCha20-Poly1305 unavailable: %v", err)
	}
	return k, nil
}

// minDistinct is the fewest distinct byte values NewKey accepts. 32 random
// bytes take 16 or fewer values with probability below
// C(256,16)·(16/256)³² ≈ 2⁻⁴³·⁸.
const minDistinct = 17

// weakness says why secret is plainly not uniformly random, or returns "".
// The text never describes the secret's content beyond the rule it broke.
//
// The checks run once per key, at start-up, on material the operator
// supplies; they are written without secret-dependent branches except for
// the distinct-value count, whose table lookups are not constant-time.
func weakness(secret []byte) string {
	// Bytes in arithmetic progression, all-equal included (step 0).
	step := secret[1] - secret[0]
	progression := 1
	// Text: printable ASCII, tab, LF, CR. 32 random bytes are all text
	// with probability (98/256)³² ≈ 2⁻⁴⁴·³.
	text := 1
	var seen [256]byte
	distinct := 0
	for i, b := range secret {
		if i > 0 {
			progression &= subtle.ConstantTimeByteEq(b-secret[i-1], step)
		}
		printable := subtle.ConstantTimeLessOrEq(0x20, int(b)) & subtle.ConstantTimeLessOrEq(int(b), 0x7e)
		text &= printable | subtle.ConstantTimeByteEq(b, '\t') | subtle.ConstantTimeByteEq(b, '\n') | subtle.ConstantTimeByteEq(b, '\r')
		distinct += int(1 - seen[b])
		seen[b] = 1
	}
	sample := 0
	for _, s := range sampleSecrets {
		sample |= subtle.ConstantTimeCompare(secret, s[:])
	}
	switch {
	case progression == 1:
		return "its bytes are all equal or count in equal steps"
	case text == 1:
		return "it is text (a password or an encoded string?), not random bytes"
	case distinct < minDistinct:
		return "it has too few distinct byte values to be random"
	case sample == 1:
		return "it is a sample key published with crumb"
	}
	return ""
}

// ID returns the key's ID.
func (k *Key) ID() KeyID { return k.id }

// String returns a description of the key that names its ID and never its
// secret, such as "crumb key 7f3a09c2".
func (k Key) String() string { return "crumb key " + k.id.String() }

// Format writes String for every verb and flag, %#v included. Without it,
// verbs that strings do not take (%d, %e, %t...) would make fmt print the
// struct's fields.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// SecretText returns the key's text form: "crumbkey1_", the 8-digit hex key
// ID, "_", and the 32 secret bytes in unpadded base64url (62 characters in
// all). [ParseKey] reads it back. The text is the secret itself: store it
// like a password and never log it.
func (k *Key) SecretText() string {
	var b strings.Builder
	b.Grow(keyTextLen)
	b.WriteString(keyTextPrefix)
	b.WriteString(k.id.String())
	b.WriteByte('_')
	b.WriteString(base64.RawURLEncoding.EncodeToString(k.material().secret[:]))
	return b.String()
}

// ParseKey parses the text form written by [Key.SecretText]. It checks the
// prefix, the length, the strict base64url encoding of the secret, that the
// key ID matches the secret (a typo or truncation is caught here), and
// rejects weak keys as [NewKey] does. Its errors never contain the input.
func ParseKey(text string) (*Key, error) {
	if len(text) != keyTextLen || !strings.HasPrefix(text, keyTextPrefix) || text[keyTextLen-44] != '_' {
		return nil, fmt.Errorf("%w: not a crumb key (want %q, 8 hex digits, '_' and 43 base64url characters)", ErrKey, keyTextPrefix)
	}
	id, err := ParseKeyID(text[len(keyTextPrefix) : len(keyTextPrefix)+2*format.KeyIDSize])
	if err != nil {
		return nil, err
	}
	enc := text[keyTextLen-43:]
	if strings.ContainsAny(enc, "\r\n") {
		return nil, fmt.Errorf("%w: secret is not unpadded base64url", ErrKey)
	}
	var secret [KeySize]byte
	n, err := base64.RawURLEncoding.Strict().Decode(secret[:], []byte(enc))
	if err != nil || n != KeySize {
		return nil, fmt.Errorf("%w: secret is not canonical base64url of 32 bytes", ErrKey)
	}
	k, err := NewKey(secret[:])
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.id[:], id[:]) != 1 {
		return nil, fmt.Errorf("%w: key ID does not match the key (mistyped or truncated?)", ErrKey)
	}
	return k, nil
}

// Derive returns the subkey of k for purpose, derived with HKDF-SHA256 under
// the label "crumb/v1/derive/" + purpose. Different purposes give
// independent keys with different IDs, so one master key can serve several
// cookies or applications without any key being used twice. The purpose
// must not be empty.
func (k *Key) Derive(purpose string) (*Key, error) {
	if purpose == "" {
		return nil, fmt.Errorf("%w: empty derivation purpose", ErrKey)
	}
	return newKey(derive(k.material().secret[:], labelDerive+purpose, KeySize))
}

// derive returns n bytes of HKDF-SHA256 of secret with no salt and info
// label (docs/FORMAT.md, "Derivations").
func derive(secret []byte, label string, n int) []byte {
	b, err := hkdf.Key(sha256.New, secret, nil, label, n)
	if err != nil {
		// hkdf.Key fails only for n > 255×32, or, in FIPS 140-only mode,
		// for a secret shorter than 14 bytes: never for crumb's sizes.
		panic("crumb: HKDF-SHA256: " + err.Error())
	}
	return b
}

// Equal reports whether k and other hold the same secret, in constant time.
func (k *Key) Equal(other *Key) bool {
	if k == nil || other == nil {
		return k == other
	}
	return subtle.ConstantTimeCompare(k.material().secret[:], other.material().secret[:]) == 1
}

// readNonce fills nonce from r, refusing short reads and an all-zero nonce.
func readNonce(r io.Reader, nonce []byte) error {
	if _, err := io.ReadFull(r, nonce); err != nil {
		return fmt.Errorf("%w: %v", errRandom, err)
	}
	var acc byte
	for _, b := range nonce {
		acc |= b
	}
	if acc == 0 {
		return fmt.Errorf("%w: all-zero nonce", errRandom)
	}
	return nil
}

// The hooks of crumb's own packages: the tests' (internal/testhook), and
// the sealing of chunked values (internal/format).
func init() {
	testhook.NewKeyUnchecked = func(secret []byte) (any, error) {
		if len(secret) != KeySize {
			return nil, fmt.Errorf("%w: key material must be %d bytes, got %d", ErrKey, KeySize, len(secret))
		}
		return newKey(secret)
	}
	testhook.Opens = func(k any) uint64 { return k.(*Key).material().aead.Opens() }
	format.SealChunks = func(k any, dst []byte, chunks int, plaintext, additionalData []byte) ([]byte, error) {
		return k.(*Key).seal(randReader{}, dst, chunks, plaintext, additionalData)
	}
}
