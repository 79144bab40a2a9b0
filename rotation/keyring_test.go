package rotation_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
	"github.com/crumbhq/crumb/rotation"
)

func TestFromEntriesRejects(t *testing.T) {
	t.Parallel()
	k := newKeys(t, maxKeys+1)
	// A second *Key with the same material, hence the same ID.
	k0again, err := crypto.ParseKey(k[0].SecretText())
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	tooMany := []rotation.Entry{{Key: k[0], State: rotation.Primary}}
	for _, kk := range k[1:] {
		tooMany = append(tooMany, rotation.Entry{Key: kk})
	}
	tests := []struct {
		name    string
		entries []rotation.Entry
	}{
		{"no keys", nil},
		{"empty", []rotation.Entry{}},
		{"nil primary", []rotation.Entry{{State: rotation.Primary}}},
		{"nil decrypt-only", []rotation.Entry{{Key: k[0], State: rotation.Primary}, {}}},
		{"two primaries", []rotation.Entry{{Key: k[0], State: rotation.Primary}, {Key: k[1], State: rotation.Primary}}},
		{"no primary", []rotation.Entry{{Key: k[0]}, {Key: k[1], State: rotation.DecryptOnly}}},
		{"duplicate key", []rotation.Entry{{Key: k[0], State: rotation.Primary}, {Key: k[0]}}},
		{"duplicate ID", []rotation.Entry{{Key: k[1]}, {Key: k[0], State: rotation.Primary}, {Key: k0again}}},
		{"MaxKeys+1 keys", tooMany},
		{"unknown state", []rotation.Entry{{Key: k[0], State: rotation.Primary}, {Key: k[1], State: rotation.State(2)}}},
		{"unknown primary-like state", []rotation.Entry{{Key: k[0], State: rotation.State(255)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rotation.FromEntries(tt.entries)
			if !errors.Is(err, rotation.ErrKeyring) || r != nil {
				t.Fatalf("FromEntries = %v, %v; want nil, an error matching ErrKeyring", r, err)
			}
		})
	}
	if len(tooMany) != maxKeys+1 {
		t.Fatalf("built %d entries, want MaxKeys+1", len(tooMany))
	}
	if r, err := rotation.FromEntries(tooMany[:maxKeys]); err != nil {
		t.Fatalf("FromEntries(MaxKeys entries) = %v, want success", err)
	} else {
		checkRing(t, r)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	k := newKeys(t, maxKeys+1)
	tests := []struct {
		name        string
		primary     *crypto.Key
		decryptOnly []*crypto.Key
	}{
		{"nil primary", nil, nil},
		{"nil decrypt-only", k[0], []*crypto.Key{k[1], nil}},
		{"duplicate", k[0], []*crypto.Key{k[1], k[0]}},
		{"MaxKeys+1 keys", k[0], k[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rotation.NewKeyring(tt.primary, tt.decryptOnly...)
			if !errors.Is(err, rotation.ErrKeyring) || r != nil {
				t.Fatalf("New = %v, %v; want nil, an error matching ErrKeyring", r, err)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    rotation.State
		want string
	}{
		{rotation.DecryptOnly, "decrypt-only"},
		{rotation.Primary, "primary"},
		{rotation.State(7), "State(7)"},
	} {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", uint8(tt.s), got, tt.want)
		}
	}
	if rotation.State(0) != rotation.DecryptOnly {
		t.Errorf("the zero State is %v, want decrypt-only (a key left unset must never seal)", rotation.State(0))
	}
}

func TestPrimaryFirstWhateverTheOrder(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 4)
	for pos := range k {
		t.Run(fmt.Sprintf("primary given at %d", pos), func(t *testing.T) {
			entries := make([]rotation.Entry, len(k))
			for i, kk := range k {
				entries[i] = rotation.Entry{Key: kk, State: rotation.DecryptOnly}
			}
			entries[pos].State = rotation.Primary
			primary := k[pos]

			r, err := rotation.FromEntries(entries)
			if err != nil {
				t.Fatalf("FromEntries: %v", err)
			}
			checkRing(t, r)
			if r.Primary() != primary {
				t.Fatalf("Primary() = %v, want %v", r.Primary(), primary)
			}
			es := r.Entries()
			if len(es) != len(k) {
				t.Fatalf("ring has %d entries, want %d", len(es), len(k))
			}
			for _, kk := range k {
				e, ok := lookupEntry(r, kk.ID())
				if !ok || e.Key != kk {
					t.Fatalf("Lookup(%v) = %v, %v; want the key", kk.ID(), e.Key, ok)
				}
				if want := kk == primary; (e.State == rotation.Primary) != want {
					t.Fatalf("Lookup(%v).State = %v, want primary: %v", kk.ID(), e.State, want)
				}
			}

			// Seal always uses the primary, whatever the order.
			v := sealRing(t, r, "hello")
			mustOpen(t, r, v, "hello", primary, false)

			// New with the same keys gives the same ring.
			others := append(append([]*crypto.Key{}, k[:pos]...), k[pos+1:]...)
			r2, err := rotation.NewKeyring(primary, others...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if !entriesEqual(r2.Entries(), r.Entries()) {
				t.Fatalf("New and FromEntries built different rings from the same keys")
			}
		})
	}
}

func TestFromEntriesDoesNotKeepTheSlice(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 2)
	entries := []rotation.Entry{{Key: k[0], State: rotation.Primary}, {Key: k[1]}}
	r, err := rotation.FromEntries(entries)
	if err != nil {
		t.Fatalf("FromEntries: %v", err)
	}
	before := r.Entries()
	entries[0].State, entries[1].State = rotation.DecryptOnly, rotation.Primary
	entries[1].Key = newKey(t)
	if !entriesEqual(r.Entries(), before) {
		t.Fatal("changing the slice given to FromEntries changed the ring")
	}
}

func TestEntriesReturnsACopy(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 3)
	r, err := rotation.NewKeyring(k[0], k[1], k[2])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	before := r.Entries()
	es := r.Entries()
	es[0].State = rotation.DecryptOnly
	es[1].State = rotation.Primary
	es[2].Key = newKey(t)
	es[2].DemotedAt = at(0)
	es = append(es[:1], es[2:]...)
	_ = es
	if !entriesEqual(r.Entries(), before) {
		t.Fatal("changing the slice returned by Entries changed the ring")
	}
	if r.Primary() != k[0] {
		t.Fatalf("Primary() = %v after changing Entries' result, want %v", r.Primary(), k[0])
	}
	v := sealWith(t, k[2], "x")
	mustOpen(t, r, v, "x", k[2], true)
}

func TestLookup(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 3)
	r, err := rotation.NewKeyring(k[0], k[1])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if e, ok := lookupEntry(r, k[1].ID()); !ok || e.Key != k[1] || e.State != rotation.DecryptOnly {
		t.Fatalf("Lookup(decrypt-only key) = %+v, %v", e.State, ok)
	}
	if e, ok := lookupEntry(r, k[2].ID()); ok || e != (rotation.Entry{}) {
		t.Fatalf("Lookup(absent key) = %v, %v; want the zero Entry, false", e.Key, ok)
	}
}

func TestKeyringIsAFixedSource(t *testing.T) {
	t.Parallel()
	r, err := rotation.NewKeyring(newKey(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var s rotation.Source = r
	for _, now := range []time.Time{{}, at(0), at(1000 * time.Hour)} {
		if got := s.At(now); got != r {
			t.Fatalf("Keyring(%v) = %p, want the ring itself %p", now, got, r)
		}
	}
}

// TestRotationMatrix is item 9 of the security test plan: the primary seals
// whatever the order, every decrypt-only key still opens (asking for a
// re-seal), removed keys fail, and an unknown key ID fails exactly like a
// forgery.
func TestRotationMatrix(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 4)
	// k[2] is primary, given in the middle.
	r, err := rotation.FromEntries([]rotation.Entry{
		{Key: k[0]}, {Key: k[1]}, {Key: k[2], State: rotation.Primary}, {Key: k[3]},
	})
	if err != nil {
		t.Fatalf("FromEntries: %v", err)
	}
	sealed := make([][]byte, len(k))
	for i, kk := range k {
		sealed[i] = sealWith(t, kk, fmt.Sprintf("value %d", i))
	}

	t.Run("seal uses the primary", func(t *testing.T) {
		for i := range 10 {
			v := sealRing(t, r, "fresh")
			if got := headerID(t, v); got != k[2].ID() {
				t.Fatalf("seal %d: header names %v, want the primary %v", i, got, k[2].ID())
			}
			mustOpen(t, r, v, "fresh", k[2], false)
		}
	})
	t.Run("every key opens its values", func(t *testing.T) {
		for i, kk := range k {
			mustOpen(t, r, sealed[i], fmt.Sprintf("value %d", i), kk, kk != k[2])
		}
	})
	t.Run("removed key fails as unknown", func(t *testing.T) {
		r2, err := r.Remove(k[0].ID())
		if err != nil {
			t.Fatalf("Remove: %v", err)
		}
		mustNotOpen(t, r2, sealed[0], testContext, crypto.ReasonUnknownKey)
		for i := 1; i < len(k); i++ {
			mustOpen(t, r2, sealed[i], fmt.Sprintf("value %d", i), k[i], k[i] != k[2])
		}
		// The receiver still opens it.
		mustOpen(t, r, sealed[0], "value 0", k[0], true)
	})
	t.Run("unknown key looks like a forgery", func(t *testing.T) {
		stranger := sealWith(t, newKey(t), "value")
		unknownErr := mustNotOpen(t, r, stranger, testContext, crypto.ReasonUnknownKey)

		forged := append([]byte(nil), sealed[2]...)
		forged[len(forged)-1] ^= 0x01 // last bit of the tag
		forgedErr := mustNotOpen(t, r, forged, testContext, crypto.ReasonUnauthentic)

		if unknownErr.Error() != forgedErr.Error() {
			t.Fatalf("unknown key ID and forgery give different messages: %q, %q", unknownErr, forgedErr)
		}
		if reflect.TypeOf(unknownErr) != reflect.TypeOf(forgedErr) {
			t.Fatalf("errors are %T and %T, want one type", unknownErr, forgedErr)
		}
	})
	t.Run("every tampered bit fails", func(t *testing.T) {
		for _, v := range [][]byte{sealed[1], sealed[2]} {
			for bit := range len(v) * 8 {
				bad := append([]byte(nil), v...)
				bad[bit/8] ^= 1 << (bit % 8)
				out, _, err := r.Open(nil, bad, testContext)
				if !errors.Is(err, crypto.ErrInvalid) || out != nil {
					t.Fatalf("Open(value with bit %d flipped) = %d bytes, %v; want ErrInvalid", bit, len(out), err)
				}
			}
		}
	})
	t.Run("other context fails", func(t *testing.T) {
		other := format.AdditionalData("crumb/rotation-test", "other-cookie")
		for i := range k {
			mustNotOpen(t, r, sealed[i], other, crypto.ReasonUnauthentic)
		}
	})
	t.Run("malformed fails", func(t *testing.T) {
		for _, v := range [][]byte{nil, {}, sealed[2][:crypto.Overhead-1]} {
			mustNotOpen(t, r, v, testContext, crypto.ReasonMalformed)
		}
	})
}

// opens returns how many AEAD opens f ran with the keys of r.
func opens(r *rotation.Keyring, f func()) uint64 {
	count := func() (n uint64) {
		for _, e := range r.Entries() {
			n += testhook.Opens(e.Key)
		}
		return n
	}
	before := count()
	f()
	return count() - before
}

// TestOpenRunsAtMostOneAEAD proves the "one key ID, one Open" rule: no
// trial decryption, whatever the ring's size or the key's position.
func TestOpenRunsAtMostOneAEAD(t *testing.T) {
	t.Parallel()
	k := newKeys(t, maxKeys)
	r, err := rotation.NewKeyring(k[0], k[1:]...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := len(r.Entries()); got != maxKeys {
		t.Fatalf("ring has %d keys, want MaxKeys", got)
	}
	last := k[len(k)-1]
	if r.Entries()[maxKeys-1].Key != last {
		t.Fatalf("the last key given is not last in the ring")
	}

	t.Run("last key of a full ring", func(t *testing.T) {
		v := sealWith(t, last, "deep")
		if n := opens(r, func() { mustOpen(t, r, v, "deep", last, true) }); n != 1 {
			t.Fatalf("Open ran %d AEAD opens, want exactly 1", n)
		}
	})
	t.Run("every key", func(t *testing.T) {
		for i, kk := range k {
			v := sealWith(t, kk, "v")
			if n := opens(r, func() { mustOpen(t, r, v, "v", kk, i != 0) }); n != 1 {
				t.Fatalf("key %d: Open ran %d AEAD opens, want exactly 1", i, n)
			}
		}
	})
	t.Run("unknown key ID", func(t *testing.T) {
		v := sealWith(t, newKey(t), "v")
		if n := opens(r, func() { mustNotOpen(t, r, v, testContext, crypto.ReasonUnknownKey) }); n != 0 {
			t.Fatalf("Open of an unknown key ID ran %d AEAD opens, want 0", n)
		}
	})
	t.Run("forgery under the last key", func(t *testing.T) {
		v := sealWith(t, last, "v")
		v[len(v)-1] ^= 0x80
		if n := opens(r, func() { mustNotOpen(t, r, v, testContext, crypto.ReasonUnauthentic) }); n != 1 {
			t.Fatalf("Open of a forgery ran %d AEAD opens, want exactly 1", n)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		v := sealWith(t, last, "v")
		v[0] = format.Version + 1
		if n := opens(r, func() { mustNotOpen(t, r, v, testContext, crypto.ReasonMalformed) }); n != 0 {
			t.Fatalf("Open of a malformed value ran %d AEAD opens, want 0", n)
		}
	})
}

// TestStagedRotation runs the whole procedure of the package doc with an
// injected clock, checking at every step that the receiver is unchanged.
func TestStagedRotation(t *testing.T) {
	t.Parallel()
	p := rotation.Policy{Propagation: 48 * time.Hour, MaxLifetime: 30 * 24 * time.Hour, ClockSkew: 5 * time.Minute}
	k1, k2 := newKey(t), newKey(t)
	now := at(0)

	r0, err := rotation.NewKeyring(k1)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	old := sealRing(t, r0, "sealed by k1")

	// 1. Stage k2.
	snap0 := r0.Entries()
	r1, err := r0.Add(k2, now)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	checkRing(t, r1)
	if !entriesEqual(r0.Entries(), snap0) {
		t.Fatal("Add changed its receiver")
	}
	if r1.Primary() != k1 {
		t.Fatalf("after Add, primary = %v, want the old key %v", r1.Primary(), k1)
	}
	e2, ok := lookupEntry(r1, k2.ID())
	if !ok || e2.State != rotation.DecryptOnly || !e2.AddedAt.Equal(now) || !e2.DemotedAt.IsZero() {
		t.Fatalf("staged entry = {%v added %v demoted %v}, %v; want decrypt-only added %v", e2.State, e2.AddedAt, e2.DemotedAt, ok, now)
	}
	sealRing(t, r1, "still k1") // checks the header names k1
	// A value sealed by an instance that already promoted k2 opens here.
	early := sealWith(t, k2, "sealed by k2 early")
	mustOpen(t, r1, early, "sealed by k2 early", k2, true)
	mustOpen(t, r1, old, "sealed by k1", k1, false)

	// 2. Wait out the propagation window.
	promoteAt, err := r1.PromoteAt(k2.ID(), p)
	if err != nil {
		t.Fatalf("PromoteAt: %v", err)
	}
	if want := now.Add(p.Propagation + p.ClockSkew); !promoteAt.Equal(want) {
		t.Fatalf("PromoteAt = %v, want AddedAt + Propagation + ClockSkew = %v", promoteAt, want)
	}
	now = promoteAt

	// 3. Promote.
	snap1 := r1.Entries()
	r2, err := r1.Promote(k2.ID(), now)
	if err != nil {
		t.Fatalf("Promote: %v", err)
	}
	checkRing(t, r2)
	if !entriesEqual(r1.Entries(), snap1) {
		t.Fatal("Promote changed its receiver")
	}
	if r2.Primary() != k2 {
		t.Fatalf("after Promote, primary = %v, want %v", r2.Primary(), k2)
	}
	e1, ok := lookupEntry(r2, k1.ID())
	if !ok || e1.State != rotation.DecryptOnly || !e1.DemotedAt.Equal(now) {
		t.Fatalf("demoted entry = {%v demoted %v}, %v; want decrypt-only demoted %v", e1.State, e1.DemotedAt, ok, now)
	}
	if e2, _ := lookupEntry(r2, k2.ID()); !e2.AddedAt.Equal(at(0)) {
		t.Fatalf("promoted entry AddedAt = %v, want it kept (%v)", e2.AddedAt, at(0))
	}
	fresh := sealRing(t, r2, "sealed by k2")
	mustOpen(t, r2, fresh, "sealed by k2", k2, false)
	mustOpen(t, r2, early, "sealed by k2 early", k2, false)
	// Values of the old key still open and ask to be re-sealed.
	mustOpen(t, r2, old, "sealed by k1", k1, true)
	// The receiver of Promote still seals with k1.
	sealRing(t, r1, "k1 again")

	// 4. Retire once safe.
	retireAt, err := r2.RetireAt(k1.ID(), p)
	if err != nil {
		t.Fatalf("RetireAt: %v", err)
	}
	if want := now.Add(p.Propagation + p.MaxLifetime + p.ClockSkew); !retireAt.Equal(want) {
		t.Fatalf("RetireAt = %v, want DemotedAt + Propagation + MaxLifetime + ClockSkew = %v", retireAt, want)
	}
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{
		{now, false},
		{retireAt.Add(-time.Second), false},
		{retireAt.Add(-time.Nanosecond), false},
		{retireAt, true},
		{retireAt.Add(time.Second), true},
	} {
		got, err := safeToRetire(r2, k1.ID(), tt.now, p)
		if err != nil || got != tt.want {
			t.Fatalf("SafeToRetire at RetireAt%+v = %v, %v; want %v", tt.now.Sub(retireAt), got, err, tt.want)
		}
	}
	now = retireAt

	snap2 := r2.Entries()
	r3, err := r2.Remove(k1.ID())
	if err != nil {
		t.Fatalf("Remove: %v", err)
	}
	checkRing(t, r3)
	if !entriesEqual(r2.Entries(), snap2) {
		t.Fatal("Remove changed its receiver")
	}
	if got := len(r3.Entries()); got != 1 {
		t.Fatalf("after Remove the ring has %d keys, want 1", got)
	}
	mustNotOpen(t, r3, old, testContext, crypto.ReasonUnknownKey)
	mustOpen(t, r3, fresh, "sealed by k2", k2, false)
	mustOpen(t, r2, old, "sealed by k1", k1, true) // the old ring is untouched

	// Every earlier ring is as it was.
	if !entriesEqual(r0.Entries(), snap0) || !entriesEqual(r1.Entries(), snap1) || !entriesEqual(r2.Entries(), snap2) {
		t.Fatal("a rotation step changed an earlier ring")
	}
}

func TestRotationErrors(t *testing.T) {
	t.Parallel()
	p := rotation.Policy{Propagation: time.Hour, MaxLifetime: 24 * time.Hour, ClockSkew: time.Minute}
	k := newKeys(t, 4)
	// k[0] primary; k[1] staged with a time; k[2] demoted with a time;
	// k[3] absent.
	r, err := rotation.FromEntries([]rotation.Entry{
		{Key: k[0], State: rotation.Primary, AddedAt: at(0)},
		{Key: k[1], AddedAt: at(time.Hour)},
		{Key: k[2], DemotedAt: at(0)},
	})
	if err != nil {
		t.Fatalf("FromEntries: %v", err)
	}
	// A ring whose keys carry no times.
	bare, err := rotation.NewKeyring(k[0], k[1])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	snap, bareSnap := r.Entries(), bare.Entries()

	tests := []struct {
		name string
		do   func() (any, error)
		want error
	}{
		{"Add nil", func() (any, error) { return r.Add(nil, at(0)) }, rotation.ErrKeyring},
		{"Add a key already held", func() (any, error) { return r.Add(k[1], at(0)) }, rotation.ErrKeyring},
		{"Promote unknown", func() (any, error) { return r.Promote(k[3].ID(), at(0)) }, rotation.ErrKeyring},
		{"Remove unknown", func() (any, error) { return r.Remove(k[3].ID()) }, rotation.ErrKeyring},
		{"Remove primary", func() (any, error) { return r.Remove(k[0].ID()) }, rotation.ErrKeyring},
		{"PromoteAt unknown", func() (any, error) { return r.PromoteAt(k[3].ID(), p) }, rotation.ErrKeyring},
		{"PromoteAt primary", func() (any, error) { return r.PromoteAt(k[0].ID(), p) }, rotation.ErrKeyring},
		{"PromoteAt without AddedAt", func() (any, error) { return r.PromoteAt(k[2].ID(), p) }, rotation.ErrKeyring},
		{"PromoteAt on a bare ring", func() (any, error) { return bare.PromoteAt(k[1].ID(), p) }, rotation.ErrKeyring},
		{"RetireAt unknown", func() (any, error) { return r.RetireAt(k[3].ID(), p) }, rotation.ErrKeyring},
		{"RetireAt primary", func() (any, error) { return r.RetireAt(k[0].ID(), p) }, rotation.ErrKeyring},
		{"RetireAt never demoted", func() (any, error) { return r.RetireAt(k[1].ID(), p) }, rotation.ErrKeyring},
		{"RetireAt on a bare ring", func() (any, error) { return bare.RetireAt(k[1].ID(), p) }, rotation.ErrKeyring},
		{"SafeToRetire primary", func() (any, error) { return safeToRetire(r, k[0].ID(), at(1000*time.Hour), p) }, rotation.ErrKeyring},
		{"SafeToRetire unknown", func() (any, error) { return safeToRetire(r, k[3].ID(), at(1000*time.Hour), p) }, rotation.ErrKeyring},
		{"SafeToRetire never demoted", func() (any, error) { return safeToRetire(r, k[1].ID(), at(1000*time.Hour), p) }, rotation.ErrKeyring},
		{"RevokePrimary nil", func() (any, error) { return r.RevokePrimary(nil, at(0)) }, rotation.ErrKeyring},
		{"RevokePrimary with the same key", func() (any, error) { return r.RevokePrimary(k[0], at(0)) }, rotation.ErrKeyring},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want an error matching %v", err, tt.want)
			}
			switch v := got.(type) {
			case *rotation.Keyring:
				if v != nil {
					t.Fatalf("returned a ring with the error")
				}
			case time.Time:
				if !v.IsZero() {
					t.Fatalf("returned %v with the error, want the zero time", v)
				}
			case bool:
				if v {
					t.Fatalf("SafeToRetire returned true with an error")
				}
			}
			if !entriesEqual(r.Entries(), snap) || !entriesEqual(bare.Entries(), bareSnap) {
				t.Fatal("a failed operation changed the ring")
			}
		})
	}

	t.Run("Add to a full ring", func(t *testing.T) {
		full, err := rotation.NewKeyring(k[0], newKeys(t, maxKeys-1)...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if got, err := full.Add(k[3], at(0)); !errors.Is(err, rotation.ErrKeyring) || got != nil {
			t.Fatalf("Add to a ring of MaxKeys = %v, %v; want nil, ErrKeyring", got, err)
		}
	})
	t.Run("RevokePrimary with a copy of the primary", func(t *testing.T) {
		same, err := crypto.ParseKey(k[0].SecretText())
		if err != nil {
			t.Fatalf("ParseKey: %v", err)
		}
		if got, err := r.RevokePrimary(same, at(0)); !errors.Is(err, rotation.ErrKeyring) || got != nil {
			t.Fatalf("RevokePrimary(the revoked key again) = %v, %v; want nil, ErrKeyring", got, err)
		}
	})
	t.Run("Promote the primary", func(t *testing.T) {
		got, err := r.Promote(k[0].ID(), at(99*time.Hour))
		if err != nil {
			t.Fatalf("Promote(primary) = %v, want success", err)
		}
		if !entriesEqual(got.Entries(), snap) {
			t.Fatal("Promote(primary) changed the ring; want an equivalent ring (no DemotedAt stamped)")
		}
	})
}

func TestRevokePrimary(t *testing.T) {
	t.Parallel()
	now := at(5 * time.Hour)
	for _, inRing := range []bool{false, true} {
		t.Run(fmt.Sprintf("next in ring %v", inRing), func(t *testing.T) {
			k1, k2, next := newKey(t), newKey(t), newKey(t)
			others := []*crypto.Key{k2}
			if inRing {
				others = append(others, next)
			}
			r, err := rotation.NewKeyring(k1, others...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			snap := r.Entries()
			leaked := sealRing(t, r, "sealed by the leaked key")
			byK2 := sealWith(t, k2, "sealed by k2")
			byNext := sealWith(t, next, "sealed by next")

			r2, err := r.RevokePrimary(next, now)
			if err != nil {
				t.Fatalf("RevokePrimary: %v", err)
			}
			checkRing(t, r2)
			if !entriesEqual(r.Entries(), snap) {
				t.Fatal("RevokePrimary changed its receiver")
			}
			if !r2.Primary().Equal(next) {
				t.Fatalf("after RevokePrimary, primary = %v, want %v", r2.Primary(), next)
			}
			if _, ok := lookupEntry(r2, k1.ID()); ok {
				t.Fatal("the revoked key is still in the ring")
			}
			// The revoked key goes; next joins unless it was there already.
			wantLen := len(snap)
			if inRing {
				wantLen--
			}
			if got := len(r2.Entries()); got != wantLen {
				t.Fatalf("ring has %d keys after RevokePrimary, want %d", got, wantLen)
			}
			e, _ := lookupEntry(r2, next.ID())
			if !inRing && !e.AddedAt.Equal(now) {
				t.Fatalf("new primary AddedAt = %v, want %v", e.AddedAt, now)
			}
			mustNotOpen(t, r2, leaked, testContext, crypto.ReasonUnknownKey)
			mustOpen(t, r2, byK2, "sealed by k2", k2, true)
			mustOpen(t, r2, byNext, "sealed by next", next, false)
			v := sealRing(t, r2, "after")
			mustOpen(t, r2, v, "after", next, false)
			// The receiver still opens the leaked key's values.
			mustOpen(t, r, leaked, "sealed by the leaked key", k1, false)
		})
	}
}
