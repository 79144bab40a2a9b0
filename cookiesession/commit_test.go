package cookiesession_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestCommitKeepsCookiesValidElsewhere: a response deletes only a cookie
// that is dead everywhere (tampered, malformed, expired, revoked). A
// cookie sealed by a key this instance lacks, or saved ahead of this
// instance's clock, may be valid on another instance (mid-rotation, or
// after a restart with a throwaway key): deleting it would log the user
// out for good. It is left alone unless the response saves a new session
// or the handler ends it with Flush.
func TestCommitKeepsCookiesValidElsewhere(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	clock := newFakeClock()
	here := newManager(t, cookiesession.Config{Keys: newRing(t, newKey(t)), Clock: clock.Now})
	elsewhere := newManager(t, cookiesession.Config{Keys: ring, Clock: clock.Now})
	ahead := newFakeClock()
	ahead.Set(t0.Add(time.Hour))
	aheadM := newManager(t, cookiesession.Config{Keys: here.cfg.Keys, Clock: ahead.Now})

	unknownKey := elsewhere.seed(map[string]any{"user": "ann"})
	future := aheadM.seed(map[string]any{"user": "ann"})
	for name, v := range map[string]string{"unknown key": unknownKey, "saved in the future": future} {
		t.Run(name, func(t *testing.T) {
			views := []struct {
				name string
				do   func(*cookiesession.Session)
				want string // "keep", "delete" or "replace"
			}{
				{"untouched", func(*cookiesession.Session) {}, "keep"},
				{"read", func(s *cookiesession.Session) { _ = s.Len() }, "keep"},
				{"new data", func(s *cookiesession.Session) { _ = s.Set("cart", 1) }, "replace"},
				{"Flush", func(s *cookiesession.Session) { _ = s.Flush() }, "delete"},
			}
			for _, view := range views {
				s := here.load(v)
				view.do(s)
				hdr := here.commit(s, http.StatusOK)
				here.errs.take()
				switch view.want {
				case "keep":
					noCookie(t, hdr)
				case "delete":
					here.wantDeletion(onlyCookie(t, hdr))
				case "replace":
					if c := onlyCookie(t, hdr); c.Value == "" {
						t.Errorf("%s: Set-Cookie %q, want a new session", view.name, c)
					}
				}
			}
		})
	}

	// Dead everywhere: deleted as soon as the session is looked at.
	dead := map[string]string{
		"tampered":  tamper(t, here.seed(map[string]any{"user": "ann"})),
		"malformed": "AQGtaB5Mjunk",
	}
	expiring := here.load()
	_ = expiring.Set("user", "ann")
	expiring.SetExpiry(cookiesession.IdleFor(time.Minute))
	expired := here.save(expiring)
	for name, v := range dead {
		s := here.load(v)
		_ = s.Len()
		here.wantDeletion(onlyCookie(t, here.commit(s, http.StatusOK)))
		if got := here.errs.take(); len(got) != 1 {
			t.Errorf("%s: reported %v", name, got)
		}
	}
	clock.Advance(time.Minute)
	s := here.load(expired)
	_ = s.Len()
	here.wantDeletion(onlyCookie(t, here.commit(s, http.StatusOK)))
	here.wantErrors(cookiesession.ErrExpired)

	// A rotation that reaches this instance later: the cookie it kept
	// opens once the key arrives.
	both := newManager(t, cookiesession.Config{Keys: rotation.NewHolder(newRing(t, newKey(t), ring.Primary())), Clock: clock.Now})
	if got := both.load(unknownKey); !got.Has("user") {
		t.Error("the kept cookie does not open on an instance holding its key")
	}
}

// TestCommitAcrossSkewedClocks: a session issued by an instance whose
// clock is ahead (within ClockSkew) and changed on one whose clock is
// behind is saved no earlier than it was issued, so that every instance
// opens it (issued <= saved, as docs/FORMAT.md requires).
func TestCommitAcrossSkewedClocks(t *testing.T) {
	t.Parallel()
	ring := newRing(t, newKey(t))
	ahead, onTime := newFakeClock(), newFakeClock()
	ahead.Advance(time.Second)
	a := newManager(t, cookiesession.Config{Keys: ring, Clock: ahead.Now, ClockSkew: 2 * time.Second})
	b := newManager(t, cookiesession.Config{Keys: ring, Clock: onTime.Now, ClockSkew: 2 * time.Second})
	v := a.seed(map[string]any{"user": "ann"}) // log in on A
	s := b.load(v)                             // the next request reaches B
	_ = s.Set("cart", 1)
	v = b.save(s)
	for name, m := range map[string]*harness{"A": a, "B": b} {
		got := m.load(v)
		if !got.Has("cart") {
			t.Errorf("instance %s does not open the cookie B saved", name)
		}
		if i := got.Info(); i.SavedAt.Before(i.IssuedAt) {
			t.Errorf("saved %v before issued %v", i.SavedAt, i.IssuedAt)
		}
	}
	a.wantErrors()
	b.wantErrors()
}
