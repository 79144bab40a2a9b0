package rotation

import (
	"sync/atomic"
	"time"
)

// A Source supplies the keyring in force at a given time. The session layer
// asks once per request and uses that ring for the whole request, so a
// change applies from the next request on.
//
// Implementations must be safe for concurrent use and cheap: At is called
// on every request. [*Keyring] (fixed keys), [*Holder] (keys swapped by an
// operator), [*Schedule] (keys derived per period) and [*FileSource] (keys
// reloaded from a file) are Sources.
type Source interface {
	At(now time.Time) *Keyring
}

var (
	_ Source = (*Keyring)(nil)
	_ Source = (*Holder)(nil)
	_ Source = (*Schedule)(nil)
	_ Source = (*FileSource)(nil)
)

// A Holder holds the current Keyring. Request goroutines read it without
// locks; an operator swaps in a new ring atomically with Store or Update,
// and the swap applies to every later call of At. The zero Holder holds no
// ring: use NewHolder.
type Holder struct {
	p atomic.Pointer[Keyring]
}

// NewHolder returns a Holder holding r. It panics if r is nil, which is a
// programming error.
func NewHolder(r *Keyring) *Holder {
	h := &Holder{}
	h.Store(r)
	return h
}

// At returns the current ring, whatever the time; it makes a Holder a
// [Source]. It may be called concurrently with Store and Update.
func (h *Holder) At(time.Time) *Keyring { return h.p.Load() }

// Store makes r the current ring. It panics if r is nil.
func (h *Holder) Store(r *Keyring) {
	if r == nil {
		panic("rotation: Holder.Store(nil)")
	}
	h.p.Store(r)
}

// Update replaces the current ring with f(current), atomically with respect
// to other Updates: if another goroutine swaps the ring while f runs, f is
// called again with the newer ring. If f returns an error, the ring is left
// alone and Update returns the error. Use it for the rotation steps:
//
//	h.Update(func(r *rotation.Keyring) (*rotation.Keyring, error) {
//		return r.Promote(id, time.Now())
//	})
func (h *Holder) Update(f func(*Keyring) (*Keyring, error)) error {
	for {
		old := h.p.Load()
		next, err := f(old)
		if err != nil {
			return err
		}
		if next == nil {
			panic("rotation: Holder.Update function returned a nil ring")
		}
		if h.p.CompareAndSwap(old, next) {
			return nil
		}
	}
}
