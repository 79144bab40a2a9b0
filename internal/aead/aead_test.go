package aead_test

import (
	"bytes"
	"crypto/fips140"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/crumbhq/crumb/internal/aead"
	"golang.org/x/crypto/chacha20"
)

// Each AEAD counts its own opens, so tests that count may run in parallel.

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func mustNew(t testing.TB, key []byte) *aead.AEAD {
	t.Helper()
	a, err := aead.New(key)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// seq returns n bytes counting up from start, so that any misplaced byte in
// an output shows up in a comparison.
func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// kat is the XChaCha20-Poly1305 known-answer vector of
// draft-irtf-cfrg-xchacha-03, Appendix A.3.1
// (https://datatracker.ietf.org/doc/html/draft-irtf-cfrg-xchacha-03#appendix-A.3.1),
// x/crypto carries the same vector, labelled
// draft-irtf-cfrg-xchacha-01#appendix-A.3.1, and it is byte-identical to
// Wycheproof xchacha20_poly1305_test.json tcId 1. The draft expired in July
// 2020 without becoming an RFC. Its text is Copyright (c) 2020 IETF Trust and
// the persons identified as the document authors, subject to BCP 78 and the
// IETF Trust's Legal Provisions Relating to IETF Documents; code components
// such as these vectors are available under the Revised BSD License.
var kat = struct {
	key, nonce, ad, plaintext, ciphertext, tag, polyKey string
}{
	key:        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	nonce:      "404142434445464748494a4b4c4d4e4f5051525354555657",
	ad:         "50515253c0c1c2c3c4c5c6c7",
	plaintext:  "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73637265656e20776f756c642062652069742e",
	ciphertext: "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e",
	tag:        "c0875924c1c7987947deafd8780acf49",
	polyKey:    "7b191f80f361f099094f6f4b8fb97df847cc6873a8f2b190dd73807183f907d5",
}

func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	key := mustHex(t, kat.key)
	nonce := mustHex(t, kat.nonce)
	ad := mustHex(t, kat.ad)
	plaintext := mustHex(t, kat.plaintext)
	want := append(mustHex(t, kat.ciphertext), mustHex(t, kat.tag)...)

	const sunscreen = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
	if string(plaintext) != sunscreen {
		t.Fatalf("plaintext = %q, want %q", plaintext, sunscreen)
	}

	a := mustNew(t, key)
	got, err := a.Seal(nil, nonce, plaintext, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Seal = %x, want ciphertext‖tag %x", got, want)
	}

	opened, err := a.Open(nil, nonce, want, ad)
	if err != nil {
		t.Fatalf("Open(vector) = %v, want nil", err)
	}
	if !bytes.Equal(opened, plaintext) {
		t.Errorf("Open(vector) = %q, want %q", opened, plaintext)
	}

	// The intermediate Poly1305 key is the first 32 bytes of the XChaCha20
	// keystream at block counter 0 (draft §2.3, Appendix A.3.1).
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		t.Fatalf("chacha20.NewUnauthenticatedCipher: %v", err)
	}
	polyKey := make([]byte, 32)
	c.XORKeyStream(polyKey, polyKey)
	if want := mustHex(t, kat.polyKey); !bytes.Equal(polyKey, want) {
		t.Errorf("Poly1305 key = %x, want %x", polyKey, want)
	}
}

// TestHChaCha20 checks the HChaCha20 sub-vector of draft-irtf-cfrg-xchacha-03
// §2.2.1 (also x/crypto's TestHChaCha20). XChaCha20 derives
// its subkey from the key and the first 16 nonce bytes with this function.
func TestHChaCha20(t *testing.T) {
	t.Parallel()
	key := mustHex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	nonce := mustHex(t, "000000090000004a0000000031415927")
	want := mustHex(t, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
	got, err := chacha20.HChaCha20(key, nonce)
	if err != nil {
		t.Fatalf("HChaCha20: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("HChaCha20 = %x, want %x", got, want)
	}
}

// contractLengths are the plaintext and AD lengths of the AEAD contract
// (after the standard library's crypto/internal/cryptotest.TestAEAD): empty,
// a few blocks, a multiple of the 64-byte ChaCha20 block and the 16-byte
// Poly1305 block, one past it, and one Poly1305 block past it.
var contractLengths = []int{0, 156, 8192, 8193, 8208}

func TestContract(t *testing.T) {
	t.Parallel()
	key := seq(aead.KeySize, 1)
	nonce := seq(aead.NonceSize, 100)
	a := mustNew(t, key)

	for _, ptLen := range contractLengths {
		for _, adLen := range contractLengths {
			t.Run(fmt.Sprintf("plaintext=%d/ad=%d", ptLen, adLen), func(t *testing.T) {
				testContract(t, a, key, nonce, seq(ptLen, 7), seq(adLen, 200))
			})
		}
	}
}

func testContract(t *testing.T, a *aead.AEAD, key, nonce, plaintext, ad []byte) {
	keyCopy, nonceCopy, ptCopy, adCopy := clone(key), clone(nonce), clone(plaintext), clone(ad)
	inputsUnchanged := func(op string) {
		t.Helper()
		if !bytes.Equal(nonce, nonceCopy) || !bytes.Equal(plaintext, ptCopy) ||
			!bytes.Equal(ad, adCopy) || !bytes.Equal(key, keyCopy) {
			t.Fatalf("%s modified its inputs", op)
		}
	}

	// Round trip.
	ct, err := a.Seal(nil, nonce, plaintext, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	inputsUnchanged("Seal")
	if len(ct) != len(plaintext)+aead.TagSize {
		t.Fatalf("len(Seal) = %d, want %d", len(ct), len(plaintext)+aead.TagSize)
	}
	if len(plaintext) > 0 && bytes.Equal(ct[:len(plaintext)], plaintext) {
		t.Fatal("Seal output begins with the plaintext")
	}
	ctCopy := clone(ct)

	got, err := a.Open(nil, nonce, ct, ad)
	if err != nil {
		t.Fatalf("Open(Seal(p)) = %v, want nil", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatal("Open(Seal(p)) != p")
	}
	if !bytes.Equal(ct, ctCopy) {
		t.Fatal("Open modified the ciphertext")
	}
	inputsUnchanged("Open")

	// Sealing is deterministic for a fixed key, nonce and input.
	if again, _ := a.Seal(nil, nonce, plaintext, ad); !bytes.Equal(again, ct) {
		t.Fatal("Seal is not deterministic")
	}

	// dst prefix preserved, with and without spare capacity in dst.
	for _, spare := range []int{0, len(plaintext) + aead.TagSize} {
		prefix := []byte("prefix")
		dst := make([]byte, len(prefix), len(prefix)+spare)
		copy(dst, prefix)
		out, err := a.Seal(dst, nonce, plaintext, ad)
		if err != nil {
			t.Fatalf("Seal(dst): %v", err)
		}
		if !bytes.Equal(out[:len(prefix)], prefix) || !bytes.Equal(out[len(prefix):], ct) {
			t.Fatalf("Seal(dst with cap+%d) = %x…, want prefix then ciphertext", spare, out[:len(prefix)])
		}
		if !bytes.Equal(dst, prefix) {
			t.Fatal("Seal changed dst[:len(dst)]")
		}

		dst = make([]byte, len(prefix), len(prefix)+spare)
		copy(dst, prefix)
		out, err = a.Open(dst, nonce, ct, ad)
		if err != nil {
			t.Fatalf("Open(dst): %v", err)
		}
		if !bytes.Equal(out[:len(prefix)], prefix) || !bytes.Equal(out[len(prefix):], plaintext) {
			t.Fatalf("Open(dst with cap+%d) = %x…, want prefix then plaintext", spare, out[:len(prefix)])
		}
		if !bytes.Equal(dst, prefix) {
			t.Fatal("Open changed dst[:len(dst)]")
		}
	}

	// In place: Seal into plaintext[:0] and Open into ciphertext[:0].
	buf := make([]byte, len(plaintext), len(plaintext)+aead.TagSize)
	copy(buf, plaintext)
	sealed, err := a.Seal(buf[:0], nonce, buf, ad)
	if err != nil {
		t.Fatalf("in-place Seal: %v", err)
	}
	if !bytes.Equal(sealed, ct) {
		t.Fatal("in-place Seal differs from Seal")
	}
	opened, err := a.Open(sealed[:0], nonce, sealed, ad)
	if err != nil {
		t.Fatalf("in-place Open: %v", err)
	}
	if !bytes.Equal(opened, plaintext) {
		t.Fatal("in-place Open differs from the plaintext")
	}

	// Every failure is ErrOpen with no output, and each reaches the cipher
	// exactly once.
	fails := 0
	mustFail := func(what string, nonce, ct, ad []byte) {
		t.Helper()
		fails++
		if out, err := a.Open(nil, nonce, ct, ad); !errors.Is(err, aead.ErrOpen) || out != nil {
			t.Fatalf("Open(%s) = %d bytes, %v; want nil, %v", what, len(out), err, aead.ErrOpen)
		}
	}
	before := a.Opens()

	for i := range nonce {
		n := clone(nonce)
		n[i] ^= 0x01
		mustFail(fmt.Sprintf("nonce byte %d flipped", i), n, ct, ad)
	}

	if len(ad) > 0 {
		for _, i := range []int{0, len(ad) / 2, len(ad) - 1} {
			d := clone(ad)
			d[i] ^= 0x80
			mustFail(fmt.Sprintf("AD byte %d flipped", i), nonce, ct, d)
		}
		mustFail("AD truncated", nonce, ct, ad[:len(ad)-1])
		mustFail("AD empty", nonce, ct, nil)
	}
	mustFail("AD extended", nonce, ct, append(clone(ad), 0))

	positions := []int{}
	if len(plaintext) > 0 {
		positions = append(positions, 0, len(plaintext)/2, len(plaintext)-1)
	}
	for i := len(plaintext); i < len(ct); i++ { // every tag byte
		positions = append(positions, i)
	}
	for _, i := range positions {
		c := clone(ct)
		c[i] ^= 0x01
		mustFail(fmt.Sprintf("ciphertext byte %d flipped", i), nonce, c, ad)
	}
	mustFail("ciphertext extended", nonce, append(clone(ct), 0), ad)
	if len(plaintext) > 0 {
		mustFail("ciphertext body truncated", nonce, append(clone(ct[:len(plaintext)-1]), ct[len(plaintext):]...), ad)
	}

	// Truncated tags. Once fewer than TagSize bytes remain, the length
	// check rejects the input without reaching the cipher.
	for _, cut := range []int{1, 8, aead.TagSize} {
		c := ct[:len(ct)-cut]
		if len(c) >= aead.TagSize {
			mustFail(fmt.Sprintf("tag truncated by %d", cut), nonce, c, ad)
			continue
		}
		if out, err := a.Open(nil, nonce, c, ad); !errors.Is(err, aead.ErrOpen) || out != nil {
			t.Fatalf("Open(tag truncated by %d) = %d bytes, %v; want nil, %v", cut, len(out), err, aead.ErrOpen)
		}
	}

	if got := a.Opens() - before; got != uint64(fails) {
		t.Errorf("Opens() rose by %d over %d failing Opens, want %d", got, fails, fails)
	}
	if !bytes.Equal(ct, ctCopy) {
		t.Fatal("a failing Open modified the ciphertext")
	}
	inputsUnchanged("failing Open")
}

// badNonceSizes are nonce lengths x/crypto panics on. There is no recover in
// this file: if the length checks let one through, the test binary crashes.
var badNonceSizes = []int{0, 8, 12, 23, 25, 32}

func TestBadNonceSize(t *testing.T) {
	t.Parallel()
	a := mustNew(t, seq(aead.KeySize, 1))
	ct, err := a.Seal(nil, seq(aead.NonceSize, 0), []byte("hello"), nil)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	for _, n := range badNonceSizes {
		nonce := seq(n, 0)
		if out, err := a.Seal(nil, nonce, []byte("hello"), nil); !errors.Is(err, aead.ErrSeal) || out != nil {
			t.Errorf("Seal(nonce of %d bytes) = %x, %v; want nil, %v", n, out, err, aead.ErrSeal)
		}
		before := a.Opens()
		if out, err := a.Open(nil, nonce, ct, nil); !errors.Is(err, aead.ErrOpen) || out != nil {
			t.Errorf("Open(nonce of %d bytes) = %x, %v; want nil, %v", n, out, err, aead.ErrOpen)
		}
		if d := a.Opens() - before; d != 0 {
			t.Errorf("Open(nonce of %d bytes) reached the cipher (Opens() +%d)", n, d)
		}
	}
}

func TestShortCiphertext(t *testing.T) {
	t.Parallel()
	a := mustNew(t, seq(aead.KeySize, 1))
	nonce := seq(aead.NonceSize, 0)
	for n := 0; n < aead.TagSize; n++ {
		before := a.Opens()
		if out, err := a.Open(nil, nonce, make([]byte, n), nil); !errors.Is(err, aead.ErrOpen) || out != nil {
			t.Errorf("Open(%d-byte ciphertext) = %x, %v; want nil, %v", n, out, err, aead.ErrOpen)
		}
		if d := a.Opens() - before; d != 0 {
			t.Errorf("Open(%d-byte ciphertext) reached the cipher (Opens() +%d)", n, d)
		}
	}
}

func TestMaxPlaintext(t *testing.T) {
	t.Parallel()
	a := mustNew(t, seq(aead.KeySize, 1))
	nonce := seq(aead.NonceSize, 0)

	big := make([]byte, aead.MaxPlaintext+1)
	if out, err := a.Seal(nil, nonce, big, nil); !errors.Is(err, aead.ErrSeal) || out != nil {
		t.Errorf("Seal(MaxPlaintext+1 bytes) = %d bytes, %v; want nil, %v", len(out), err, aead.ErrSeal)
	}

	// The limit itself is accepted both ways.
	ct, err := a.Seal(nil, nonce, big[:aead.MaxPlaintext], nil)
	if err != nil {
		t.Fatalf("Seal(MaxPlaintext bytes) = %v, want nil", err)
	}
	pt, err := a.Open(nil, nonce, ct, nil)
	if err != nil || len(pt) != aead.MaxPlaintext {
		t.Fatalf("Open(Seal(MaxPlaintext bytes)) = %d bytes, %v; want %d, nil", len(pt), err, aead.MaxPlaintext)
	}

	// A ciphertext that could only come from an oversized plaintext is
	// rejected before the cipher.
	before := a.Opens()
	if out, err := a.Open(nil, nonce, append(ct, 0), nil); !errors.Is(err, aead.ErrOpen) || out != nil {
		t.Errorf("Open(MaxPlaintext+TagSize+1 bytes) = %d bytes, %v; want nil, %v", len(out), err, aead.ErrOpen)
	}
	if d := a.Opens() - before; d != 0 {
		t.Errorf("oversized Open reached the cipher (Opens() +%d)", d)
	}
}

func TestNewKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if a, err := aead.New(make([]byte, n)); err == nil || a != nil {
			t.Errorf("New(%d-byte key) = %v, %v; want nil, error", n, a, err)
		}
	}
}

func TestNewCopiesKey(t *testing.T) {
	t.Parallel()
	key := seq(aead.KeySize, 1)
	nonce := seq(aead.NonceSize, 0)
	want, _ := mustNew(t, key).Seal(nil, nonce, []byte("hello"), nil)

	a := mustNew(t, key)
	clear(key)
	got, err := a.Seal(nil, nonce, []byte("hello"), nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Seal after the caller cleared its key = %x, %v; want %x, nil", got, err, want)
	}
}

// TestNewFIPS140Only checks that New fails, rather than panicking or
// returning a usable AEAD, when the process runs with GODEBUG=fips140=only,
// where x/crypto refuses XChaCha20-Poly1305. GODEBUG is fixed at start-up, so
// the test runs itself again in a child process, as crypto/fips140's own
// tests do. The child inherits -test.gocoverdir, so its coverage counts.
func TestNewFIPS140Only(t *testing.T) {
	t.Parallel()
	if fips140.Enforced() {
		for _, n := range []int{aead.KeySize, 16} {
			if a, err := aead.New(make([]byte, n)); err == nil || a != nil {
				t.Errorf("New(%d-byte key) under fips140=only = %v, %v; want nil, error", n, a, err)
			}
		}
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	args := []string{"-test.run=^TestNewFIPS140Only$", "-test.v"}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		args = append(args, "-test.gocoverdir="+f.Value.String())
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only")
	out, err := cmd.CombinedOutput()
	t.Logf("GODEBUG=fips140=only child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestNewFIPS140Only")) {
		t.Fatal("child did not run TestNewFIPS140Only")
	}
}

func TestOpensCounter(t *testing.T) {
	t.Parallel()
	a := mustNew(t, seq(aead.KeySize, 1))
	nonce := seq(aead.NonceSize, 0)
	ct, err := a.Seal(nil, nonce, []byte("hello"), []byte("ad"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	bad := clone(ct)
	bad[0] ^= 1

	for _, tc := range []struct {
		name      string
		nonce, ct []byte
		ok        bool
		delta     uint64
	}{
		{"authentic", nonce, ct, true, 1},
		{"bad tag", nonce, bad, false, 1},
		{"empty ciphertext", nonce, nil, false, 0},
		{"ciphertext one byte short of a tag", nonce, ct[:aead.TagSize-1], false, 0},
		{"short nonce", nonce[:aead.NonceSize-1], ct, false, 0},
		{"long nonce", append(clone(nonce), 0), ct, false, 0},
		{"oversized ciphertext", nonce, make([]byte, aead.MaxPlaintext+aead.TagSize+1), false, 0},
	} {
		before := a.Opens()
		_, err := a.Open(nil, tc.nonce, tc.ct, []byte("ad"))
		if (err == nil) != tc.ok {
			t.Errorf("%s: Open = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if d := a.Opens() - before; d != tc.delta {
			t.Errorf("%s: Opens() rose by %d, want %d", tc.name, d, tc.delta)
		}
	}

	// Seal never counts.
	before := a.Opens()
	if _, err := a.Seal(nil, nonce, []byte("hello"), nil); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if d := a.Opens() - before; d != 0 {
		t.Errorf("Seal raised Opens() by %d", d)
	}
}

var benchSizes = []int{64, 1024, 4096}

func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			a := mustNew(b, seq(aead.KeySize, 1))
			nonce := seq(aead.NonceSize, 0) // reused: fine for timing, never in production
			plaintext := seq(size, 7)
			ad := seq(13, 200)
			want, _ := a.Seal(nil, nonce, plaintext, ad)
			dst := make([]byte, 0, size+aead.TagSize)

			b.ReportAllocs()
			b.SetBytes(int64(size))
			var out []byte
			var err error
			for b.Loop() {
				out, err = a.Seal(dst[:0], nonce, plaintext, ad)
			}
			if err != nil || !bytes.Equal(out, want) {
				b.Fatalf("Seal = %d bytes, %v; want %d bytes", len(out), err, len(want))
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			a := mustNew(b, seq(aead.KeySize, 1))
			nonce := seq(aead.NonceSize, 0)
			plaintext := seq(size, 7)
			ad := seq(13, 200)
			ct, _ := a.Seal(nil, nonce, plaintext, ad)
			dst := make([]byte, 0, size)

			b.ReportAllocs()
			b.SetBytes(int64(size))
			var out []byte
			var err error
			for b.Loop() {
				out, err = a.Open(dst[:0], nonce, ct, ad)
			}
			if err != nil || !bytes.Equal(out, plaintext) {
				b.Fatalf("Open = %d bytes, %v; want %d bytes", len(out), err, size)
			}
		})
	}
}
