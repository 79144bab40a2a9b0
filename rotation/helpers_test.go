package rotation_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

// testContext is the additional data every test value is sealed under.
var testContext = format.AdditionalData("crumb/rotation-test", "session")

// newKey returns a fresh random key. crypto.NewKey refuses published sample
// keys, so tests never use fixed key material.
func newKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return k
}

func newKeys(t testing.TB, n int) []*crypto.Key {
	t.Helper()
	keys := make([]*crypto.Key, n)
	for i := range keys {
		keys[i] = newKey(t)
	}
	return keys
}

// sealWith seals msg under k directly, as another instance holding k as its
// primary would.
func sealWith(t testing.TB, k *crypto.Key, msg string) []byte {
	t.Helper()
	v, err := k.Seal(nil, []byte(msg), testContext)
	if err != nil {
		t.Fatalf("Seal under %v: %v", k, err)
	}
	return v
}

// sealRing seals msg with r and checks that the value names r's primary.
func sealRing(t testing.TB, r *rotation.Keyring, msg string) []byte {
	t.Helper()
	v, err := r.Seal(nil, []byte(msg), testContext)
	if err != nil {
		t.Fatalf("Keyring.Seal: %v", err)
	}
	if got, want := headerID(t, v), r.Primary().ID(); got != want {
		t.Fatalf("Keyring.Seal used key %v, want the primary %v", got, want)
	}
	return v
}

func headerID(t testing.TB, sealed []byte) crypto.KeyID {
	t.Helper()
	h, ok := format.ParseHeader(sealed)
	if !ok {
		t.Fatal("ParseHeader failed")
	}
	return crypto.KeyID(h.KeyID)
}

// mustOpen opens v with r and checks the plaintext and the Opened report.
func mustOpen(t testing.TB, r *rotation.Keyring, v []byte, msg string, by *crypto.Key, reseal bool) {
	t.Helper()
	out, o, err := r.Open(nil, v, testContext)
	if err != nil {
		t.Fatalf("Open(value sealed by %v) = %v, want success", by, err)
	}
	if !bytes.Equal(out, []byte(msg)) {
		t.Fatalf("Open(value sealed by %v) = %q, want %q", by, out, msg)
	}
	if want := (rotation.Opened{KeyID: by.ID(), Reseal: reseal}); o != want {
		t.Fatalf("Open(value sealed by %v) reports %+v, want %+v", by, o, want)
	}
}

// mustNotOpen checks that r refuses v with crypto.ErrInvalid and reason.
func mustNotOpen(t testing.TB, r *rotation.Keyring, v []byte, ctx []byte, reason crypto.Reason) error {
	t.Helper()
	out, o, err := r.Open(nil, v, ctx)
	if !errors.Is(err, crypto.ErrInvalid) {
		t.Fatalf("Open = %v, want an error matching crypto.ErrInvalid", err)
	}
	if got := crypto.ReasonOf(err); got != reason {
		t.Fatalf("Open failed for reason %v, want %v", got, reason)
	}
	if out != nil || o != (rotation.Opened{}) {
		t.Fatalf("failed Open returned %d bytes and %+v, want nothing", len(out), o)
	}
	return err
}

// entriesEqual reports whether two entry lists are the same, key material,
// states and times included.
func entriesEqual(a, b []rotation.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Key.Equal(b[i].Key) || a[i].Key.ID() != b[i].Key.ID() || a[i].State != b[i].State ||
			!a[i].AddedAt.Equal(b[i].AddedAt) || !a[i].DemotedAt.Equal(b[i].DemotedAt) {
			return false
		}
	}
	return true
}

// checkRing checks the invariants every ring must keep: one primary, first
// in Entries, returned by Primary.
func checkRing(t testing.TB, r *rotation.Keyring) {
	t.Helper()
	if r == nil {
		t.Fatal("ring is nil")
	}
	es := r.Entries()
	if len(es) == 0 || len(es) > maxKeys {
		t.Fatalf("ring has %d entries, want 1..%d", len(es), maxKeys)
	}
	primaries := 0
	for _, e := range es {
		if e.State == rotation.Primary {
			primaries++
		}
	}
	if primaries != 1 || es[0].State != rotation.Primary || es[0].Key != r.Primary() {
		t.Fatalf("ring has %d primaries, first entry %v, want exactly one primary, first", primaries, es[0].State)
	}
}

// at returns a fixed instant plus d, for tests that advance a clock.
func at(d time.Duration) time.Time {
	return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).Add(d)
}

// lookupEntry returns r's entry for id.
func lookupEntry(r *rotation.Keyring, id crypto.KeyID) (rotation.Entry, bool) {
	for _, e := range r.Entries() {
		if e.Key.ID() == id {
			return e, true
		}
	}
	return rotation.Entry{}, false
}

// maxKeys is the most keys a Keyring holds, as its documentation says.
const maxKeys = 8

// safeToRetire reports whether now is at or after r.RetireAt(id, p), the
// rule docs/KEYS.md gives for removing a key.
func safeToRetire(r *rotation.Keyring, id crypto.KeyID, now time.Time, p rotation.Policy) (bool, error) {
	at, err := r.RetireAt(id, p)
	if err != nil {
		return false, err
	}
	return !now.Before(at), nil
}
