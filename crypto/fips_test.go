package crypto_test

import (
	"bytes"
	"crypto/fips140"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/crypto"
)

// TestFIPSOnly runs TestFIPSChild in a copy of this test binary with
// GODEBUG=fips140=only, where XChaCha20-Poly1305 is refused.
func TestFIPSOnly(t *testing.T) {
	// Not parallel: it uses os.Args.
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("cannot start a process on", runtime.GOOS)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only", "CRUMB_FIPS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child under GODEBUG=fips140=only: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestFIPSChild")) {
		t.Fatalf("TestFIPSChild did not pass:\n%s", out)
	}
}

// TestFIPSChild is run by TestFIPSOnly; on its own it skips.
func TestFIPSChild(t *testing.T) {
	t.Parallel()
	if os.Getenv("CRUMB_FIPS_CHILD") != "1" {
		t.Skip("run by TestFIPSOnly with GODEBUG=fips140=only")
	}
	if !fips140.Enforced() {
		t.Fatal("fips140.Enforced() = false under GODEBUG=fips140=only")
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("key construction panicked in FIPS 140-only mode: %v", r)
		}
	}()
	if k, err := crypto.GenerateKey(); err == nil || k != nil {
		t.Errorf("GenerateKey = %v, %v; want an error", k, err)
	}
	secret := make([]byte, crypto.KeySize)
	rand.Read(secret)
	if k, err := crypto.NewKey(secret); err == nil || k != nil {
		t.Errorf("NewKey = %v, %v; want an error", k, err)
	} else if !strings.Contains(err.Error(), "XChaCha20-Poly1305") {
		t.Errorf("NewKey error %q does not say why", err)
	}
	// A well-formed key text gets as far as the AEAD, and fails there.
	id := hkdfSHA256(t, secret, "crumb/v1/key-id", 4)
	text := "crumbkey1_" + hex.EncodeToString(id) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	if k, err := crypto.ParseKey(text); err == nil || k != nil {
		t.Errorf("ParseKey = %v, %v; want an error", k, err)
	}
}
