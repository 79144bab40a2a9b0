package crypto_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

func nonceOf(sealed []byte) []byte {
	return sealed[format.HeaderSize : format.HeaderSize+format.NonceSize]
}

// TestNonceFromReader proves that the nonce is exactly the first NonceSize
// bytes read from the source, so tests can force and observe a repeat.
func TestNonceFromReader(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	src := make([]byte, format.NonceSize+6)
	for i := range src {
		src[i] = byte(0xc0 + i)
	}
	r := &fixedReader{b: bytes.Clone(src)}
	a, err := k.SealWith(r, nil, 1, []byte("x"), cookieContext)
	if err != nil {
		t.Fatal(err)
	}
	if got := nonceOf(a); !bytes.Equal(got, src[:format.NonceSize]) {
		t.Errorf("nonce = %x, want the bytes read %x", got, src[:format.NonceSize])
	}
	if len(r.b) != 6 {
		t.Errorf("seal read %d bytes, want exactly %d", len(src)-len(r.b), format.NonceSize)
	}
	// The same nonce again gives the same value: the reader is the only
	// source of variation.
	b, err := k.SealWith(&fixedReader{b: bytes.Clone(src)}, nil, 1, []byte("x"), cookieContext)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("two seals with one nonce differ: %x, %x (%v)", a, b, err)
	}
	if out, err := k.Open(nil, a, cookieContext); err != nil || string(out) != "x" {
		t.Errorf("Open = %q, %v", out, err)
	}
}

// byteAtATime returns one byte per Read, to prove the nonce is read fully.
type byteAtATime struct{ next byte }

func (r *byteAtATime) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.next++
	p[0] = r.next
	return 1, nil
}

func TestNonceShortReads(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	sealed, err := k.SealWith(&byteAtATime{}, nil, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range nonceOf(sealed) {
		if b != byte(i+1) {
			t.Fatalf("nonce = %x, want 01 02 .. 18 read a byte at a time", nonceOf(sealed))
		}
	}
}

type errReader struct{}

var errBroken = errors.New("entropy source broken")

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestNonceFailures(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"read error", errReader{}},
		{"short read", &fixedReader{b: make([]byte, format.NonceSize-1)}},
		{"short read then EOF", io.LimitReader(&byteAtATime{}, format.NonceSize-1)},
		{"empty", bytes.NewReader(nil)},
		{"all-zero nonce", bytes.NewReader(make([]byte, format.NonceSize))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := k.SealWith(tt.r, dst, 1, []byte("secret plaintext"), cookieContext)
			if !errors.Is(err, crypto.ErrRandom) {
				t.Errorf("seal err = %v, want ErrRandom", err)
			}
			if out != nil {
				t.Errorf("seal returned %x with an error", out)
			}
			if errors.Is(err, crypto.ErrInvalid) {
				t.Errorf("seal err %v also matches ErrInvalid", err)
			}
		})
	}
	// A nonce with a single non-zero bit anywhere is accepted.
	for i := 0; i < format.NonceSize; i++ {
		n := make([]byte, format.NonceSize)
		n[i] = 0x80
		if _, err := k.SealWith(bytes.NewReader(n), nil, 1, nil, nil); err != nil {
			t.Errorf("nonce with byte %d set: %v", i, err)
		}
	}
}

// TestNonceUniqueness seals many values with the real source and finds no
// repeated nonce and no repeated 16-byte prefix (the HChaCha20 input).
func TestNonceUniqueness(t *testing.T) {
	t.Parallel()
	if testing.Short() && runtime.GOOS == "js" {
		t.Skip("slow under js/wasm")
	}
	// About 0.7 s, or 4 s under the race detector.
	const n = 1_000_000
	k := newTestKey(t)
	nonces := make(map[[format.NonceSize]byte]struct{}, n)
	prefixes := make(map[[16]byte]struct{}, n)
	buf := make([]byte, 0, crypto.Overhead)
	for i := 0; i < n; i++ {
		sealed, err := k.Seal(buf[:0], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		nonce := [format.NonceSize]byte(nonceOf(sealed))
		prefix := [16]byte(nonce[:16])
		if _, dup := nonces[nonce]; dup {
			t.Fatalf("seal %d repeated a nonce", i)
		}
		if _, dup := prefixes[prefix]; dup {
			t.Fatalf("seal %d repeated a 16-byte nonce prefix", i)
		}
		nonces[nonce] = struct{}{}
		prefixes[prefix] = struct{}{}
	}
	if len(nonces) != n || len(prefixes) != n {
		t.Fatalf("%d nonces, %d prefixes, want %d", len(nonces), len(prefixes), n)
	}
}
