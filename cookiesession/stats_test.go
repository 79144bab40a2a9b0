package cookiesession_test

import (
	"encoding/json"
	"expvar"
	"maps"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestStats runs a Manager through each thing that can happen to a cookie
// and checks the counts per key and per reason, then the same through
// expvar.
func TestStats(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	holder := rotation.NewHolder(newRing(t, k1))
	deny := &cookiesession.DenyList{}
	h := newManager(t, cookiesession.Config{Keys: holder, Revoker: deny, Lifetime: time.Hour})
	other := newManager(t, cookiesession.Config{})
	id1, id2 := k1.ID().String(), k2.ID().String()

	first := h.seed(map[string]any{"n": 1})  // sealed by k1
	second := h.seed(map[string]any{"n": 2}) // sealed by k1
	use := func(values ...string) {
		s := h.load(values...)
		_ = s.Len()
		h.commit(s, 200)
	}
	use(first)                              // opened by k1
	use(tamper(t, first))                   // unauthentic, k1 named
	use(other.seed(map[string]any{"x": 1})) // unknown key
	use("junk.value.that.is.not.crumbs")    // malformed

	revoked := h.load(second)
	if err := revoked.Flush(); err != nil { // revokes its ID
		t.Fatal(err)
	}
	h.commit(revoked, 200) // opened by k1 first
	use(second)            // revoked, k1 named

	// Rotation: k2 primary, k1 decrypt-only. The first cookie opens under
	// k1 and is re-sealed under k2.
	holder.Store(newRing(t, k2, k1))
	use(first)
	h.clock.Advance(2 * time.Hour)
	use(first) // expired, k1 named

	got := h.m.Stats()
	want := cookiesession.Stats{
		Keys: map[string]cookiesession.KeyStats{
			id1: {Opened: 3, Resealed: 1, Sealed: 2, Rejected: 3},
			id2: {Sealed: 1},
		},
		Rejected: map[string]uint64{"unauthentic": 1, "unknown key": 1, "malformed": 1, "revoked": 1, "expired": 1},
	}
	if !maps.Equal(got.Keys, want.Keys) || !maps.Equal(got.Rejected, want.Rejected) {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}

	// Published through expvar, as the documentation says.
	name := "crumb-test-" + t.Name()
	expvar.Publish(name, expvar.Func(func() any { return h.m.Stats() }))
	var published cookiesession.Stats
	if err := json.Unmarshal([]byte(expvar.Get(name).String()), &published); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(published.Keys, want.Keys) || !maps.Equal(published.Rejected, want.Rejected) {
		t.Errorf("through expvar: %+v", published)
	}
}
