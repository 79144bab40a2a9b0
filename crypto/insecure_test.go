package crypto_test

import (
	"errors"
	"testing"

	"github.com/crumbhq/crumb/crypto"
)

// TestInsecureTestKey checks that InsecureTestKey skips only the weak-key
// check: published keys give the same key as the vectors' unchecked path,
// and bad lengths are still refused.
func TestInsecureTestKey(t *testing.T) {
	for i, s := range crypto.SampleSecrets {
		k, err := crypto.InsecureTestKey(s[:])
		if err != nil {
			t.Fatalf("InsecureTestKey(sample %d) = %v", i, err)
		}
		want, err := crypto.NewKeyUnchecked(s[:])
		if err != nil || !k.Equal(want) || k.ID() != want.ID() {
			t.Errorf("InsecureTestKey(sample %d) differs from the unchecked key", i)
		}
	}
	if _, err := crypto.InsecureTestKey(make([]byte, crypto.KeySize)); err != nil {
		t.Errorf("InsecureTestKey(all zero) = %v", err)
	}
	for _, n := range []int{0, 31, 33} {
		if k, err := crypto.InsecureTestKey(make([]byte, n)); !errors.Is(err, crypto.ErrKey) || k != nil {
			t.Errorf("InsecureTestKey(%d bytes) = %v, %v; want ErrKey", n, k, err)
		}
	}
}
