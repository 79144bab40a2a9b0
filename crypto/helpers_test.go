package crypto_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

// sampleSecret is the published sample key material 00 01 .. 1f of the test
// vectors. NewKey refuses it; tests reach it through NewKeyUnchecked.
var sampleSecret = func() []byte {
	b := make([]byte, crypto.KeySize)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// cookieContext is the context the session layer binds for a cookie named
// __Host-session with no application purpose.
var cookieContext = format.AdditionalData("crumb/v1/cookiesession", "__Host-session")

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// newTestKey returns a fresh random key.
func newTestKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k
}

// fixedReader returns its bytes, then an error once they are used up.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, errReaderEmpty
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

var errReaderEmpty = errors.New("test reader exhausted")

// sealFixed seals with the given nonce instead of crypto/rand.
func sealFixed(t testing.TB, k *crypto.Key, nonce, plaintext, context []byte) []byte {
	t.Helper()
	sealed, err := k.SealWith(&fixedReader{b: bytes.Clone(nonce)}, nil, 1, plaintext, context)
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	return sealed
}

// wantInvalid fails the test unless err is the uniform ErrInvalid with the
// given reason and out is nil.
func wantInvalid(t testing.TB, what string, out []byte, err error, reason crypto.Reason) {
	t.Helper()
	if !errors.Is(err, crypto.ErrInvalid) {
		t.Fatalf("%s: err = %v, want ErrInvalid", what, err)
	}
	if out != nil {
		t.Fatalf("%s: returned %d bytes of output with an error", what, len(out))
	}
	if reason != crypto.ReasonUnknown && crypto.ReasonOf(err) != reason {
		t.Fatalf("%s: reason = %v, want %v", what, crypto.ReasonOf(err), reason)
	}
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
