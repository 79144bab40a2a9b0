package crypto_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/crumbhq/crumb/crypto"
)

// TestSealOpenRoundTrip seals and opens every plaintext length class and
// the bounds.
func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := newTestKey(t)
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, 1000, crypto.MaxPlaintext - 1, crypto.MaxPlaintext} {
		sealed, err := k.Seal(nil, pattern(n), cookieContext)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", n, err)
		}
		if len(sealed) != n+crypto.Overhead {
			t.Fatalf("Seal(%d bytes) = %d bytes, want %d", n, len(sealed), n+crypto.Overhead)
		}
		pt, err := k.Open(nil, sealed, cookieContext)
		if err != nil || !bytes.Equal(pt, pattern(n)) {
			t.Fatalf("Open(%d bytes) = %v", n, err)
		}
		// dst is kept and appended to.
		prefix := []byte("prefix")
		out, err := k.Seal(bytes.Clone(prefix), pattern(n), cookieContext)
		if err != nil || !bytes.HasPrefix(out, prefix) || len(out) != len(prefix)+n+crypto.Overhead {
			t.Fatalf("Seal with a dst prefix = %d bytes, %v", len(out), err)
		}
	}
	if out, err := k.Seal(nil, make([]byte, crypto.MaxPlaintext+1), nil); err != crypto.ErrTooLong || out != nil {
		t.Errorf("Seal(MaxPlaintext+1) = %d bytes, %v; want ErrTooLong", len(out), err)
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
