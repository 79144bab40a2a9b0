package rotation

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

// maxKeys is the most keys a Keyring holds. A ring needs one primary, the
// keys of sessions still alive, and one staged key; more than this is a
// configuration mistake, and a small ring keeps lookups trivially cheap.
const maxKeys = 8

// ErrKeyring is returned for a keyring that cannot be built or changed as
// asked: no primary or more than one, a duplicate key ID, too many keys, an
// operation on a key the ring does not hold, a rotation step whose time is
// unknown (PromoteAt and RetireAt need AddedAt and DemotedAt), or a
// schedule configuration NewSchedule cannot use.
var ErrKeyring = errors.New("rotation: invalid keyring")

// State is what a key in a Keyring may be used for. The zero State is
// DecryptOnly, so a key whose state was left unset never seals.
type State uint8

const (
	// DecryptOnly keys open values but never seal. A key is decrypt-only
	// while it is staged (added, not yet promoted) and after it is demoted.
	DecryptOnly State = iota
	// Primary is the one key that seals. It also opens.
	Primary
)

func (s State) String() string {
	switch s {
	case DecryptOnly:
		return "decrypt-only"
	case Primary:
		return "primary"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Entry is one key of a Keyring with its state and history.
type Entry struct {
	Key   *crypto.Key
	State State
	// AddedAt is when the key was added to the ring, if known. It starts
	// the propagation window: see [Keyring.PromoteAt].
	AddedAt time.Time
	// DemotedAt is when the key stopped being primary, if it ever was and
	// the time is known. It starts the retirement clock: see
	// [Keyring.RetireAt].
	DemotedAt time.Time
}

// A Keyring is an immutable, validated set of keys: exactly one primary
// that seals and opens, and decrypt-only keys that only open. Methods that
// change a ring return a new one and leave the receiver as it was, so a
// Keyring may be shared by any number of goroutines.
//
// Values are opened by the key their header names: one lookup and at most
// one AEAD open per value, never a trial of every key.
type Keyring struct {
	entries []Entry // entries[0] is the primary
}

// NewKeyring returns a keyring with primary as its primary key and the
// other keys decrypt-only.
func NewKeyring(primary *crypto.Key, decryptOnly ...*crypto.Key) (*Keyring, error) {
	entries := make([]Entry, 0, 1+len(decryptOnly))
	entries = append(entries, Entry{Key: primary, State: Primary})
	for _, k := range decryptOnly {
		entries = append(entries, Entry{Key: k, State: DecryptOnly})
	}
	return FromEntries(entries)
}

// FromEntries returns a keyring holding entries. It fails, with an error
// matching [ErrKeyring], unless exactly one entry is Primary, no two keys
// share an ID, no key is nil, no state is unknown and there are at most 8
// entries.
func FromEntries(entries []Entry) (*Keyring, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrKeyring)
	}
	if len(entries) > maxKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d allowed", ErrKeyring, len(entries), maxKeys)
	}
	primaries := 0
	sorted := make([]Entry, 0, len(entries))
	for i, e := range entries {
		if e.Key == nil {
			return nil, fmt.Errorf("%w: entry %d has no key", ErrKeyring, i+1)
		}
		switch e.State {
		case Primary:
			primaries++
			sorted = slices.Insert(sorted, 0, e)
		case DecryptOnly:
			sorted = append(sorted, e)
		default:
			return nil, fmt.Errorf("%w: entry %d has unknown state %v", ErrKeyring, i+1, e.State)
		}
		for _, prev := range entries[:i] {
			if prev.Key.ID() == e.Key.ID() {
				return nil, fmt.Errorf("%w: duplicate key ID %v", ErrKeyring, e.Key.ID())
			}
		}
	}
	if primaries != 1 {
		return nil, fmt.Errorf("%w: %d primary keys, want exactly 1", ErrKeyring, primaries)
	}
	return &Keyring{entries: sorted}, nil
}

// Primary returns the key that seals.
func (r *Keyring) Primary() *crypto.Key { return r.entries[0].Key }

// Entries returns a copy of the ring's entries, the primary first.
func (r *Keyring) Entries() []Entry { return slices.Clone(r.entries) }

// lookup returns the entry for id.
func (r *Keyring) lookup(id crypto.KeyID) (Entry, bool) {
	for _, e := range r.entries {
		if e.Key.ID() == id {
			return e, true
		}
	}
	return Entry{}, false
}

// At returns r itself, whatever the time, so that a fixed Keyring is a
// [Source].
func (r *Keyring) At(time.Time) *Keyring { return r }

// Seal seals plaintext under the primary key; see [crypto.Key.Seal]. It
// always uses the primary, whatever order the keys were given in.
func (r *Keyring) Seal(dst, plaintext, additionalData []byte) ([]byte, error) {
	return r.Primary().Seal(dst, plaintext, additionalData)
}

// Opened describes how a value was opened.
type Opened struct {
	// KeyID is the key that opened the value.
	KeyID crypto.KeyID
	// Reseal is true when that key is not the primary: the caller should
	// seal the plaintext again, under the primary, so that the old key can
	// be retired. The session layer does this in the same response.
	Reseal bool
}

// Open opens a value sealed by any key of the ring. It reads the key ID
// from the header, looks the key up, and runs at most one AEAD open. An
// unknown key ID fails like a forgery, with an error matching
// [crypto.ErrInvalid] (reason [crypto.ReasonUnknownKey]), and decrypts
// nothing.
func (r *Keyring) Open(dst, sealed, additionalData []byte) ([]byte, Opened, error) {
	h, ok := format.ParseHeader(sealed)
	if !ok {
		return nil, Opened{}, crypto.Invalid(crypto.ReasonMalformed)
	}
	for i, e := range r.entries {
		if e.Key.ID() == h.KeyID {
			out, err := e.Key.Open(dst, sealed, additionalData)
			if err != nil {
				return nil, Opened{}, err
			}
			return out, Opened{KeyID: h.KeyID, Reseal: i != 0}, nil
		}
	}
	return nil, Opened{}, crypto.Invalid(crypto.ReasonUnknownKey)
}

func (r *Keyring) index(id crypto.KeyID) int {
	for i, e := range r.entries {
		if e.Key.ID() == id {
			return i
		}
	}
	return -1
}

// Add returns a ring with k added as a decrypt-only key, stamped as added
// at now. This is step 1 of a rotation: deploy the new key everywhere so
// every instance can open values it seals, before any instance seals with
// it.
func (r *Keyring) Add(k *crypto.Key, now time.Time) (*Keyring, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil key", ErrKeyring)
	}
	return FromEntries(append(r.Entries(), Entry{Key: k, State: DecryptOnly, AddedAt: now}))
}

// Promote returns a ring in which the key id is primary. The previous
// primary becomes decrypt-only with DemotedAt = now. Promote a key only
// after every instance holds it: see [Keyring.PromoteAt].
func (r *Keyring) Promote(id crypto.KeyID, now time.Time) (*Keyring, error) {
	i := r.index(id)
	if i < 0 {
		return nil, fmt.Errorf("%w: no key %v to promote", ErrKeyring, id)
	}
	if i == 0 {
		return r, nil
	}
	entries := r.Entries()
	entries[0].State, entries[0].DemotedAt = DecryptOnly, now
	entries[i].State = Primary
	return FromEntries(entries)
}

// Remove returns a ring without the key id. The primary cannot be removed;
// promote another key first. Remove a demoted key once [Keyring.RetireAt]
// has passed: values it sealed can no longer be valid.
func (r *Keyring) Remove(id crypto.KeyID) (*Keyring, error) {
	i := r.index(id)
	switch {
	case i < 0:
		return nil, fmt.Errorf("%w: no key %v to remove", ErrKeyring, id)
	case i == 0:
		return nil, fmt.Errorf("%w: cannot remove the primary key %v", ErrKeyring, id)
	}
	return FromEntries(slices.Delete(r.Entries(), i, i+1))
}

// RevokePrimary is the emergency procedure for a leaked primary key: next
// becomes primary at once, without a propagation window, and the old
// primary is dropped, so every value it sealed stops opening. Instances
// that do not yet hold next will see an unknown key ID in new values until
// they are updated. next may already be in the ring.
func (r *Keyring) RevokePrimary(next *crypto.Key, now time.Time) (*Keyring, error) {
	if next == nil {
		return nil, fmt.Errorf("%w: nil key", ErrKeyring)
	}
	old := r.Primary().ID()
	if next.ID() == old {
		return nil, fmt.Errorf("%w: the replacement is the revoked key", ErrKeyring)
	}
	entries := r.Entries()[1:]
	if i := slices.IndexFunc(entries, func(e Entry) bool { return e.Key.ID() == next.ID() }); i >= 0 {
		entries[i].State = Primary
	} else {
		entries = append(entries, Entry{Key: next, State: Primary, AddedAt: now})
	}
	return FromEntries(entries)
}

// Policy holds the timings of a staged rotation.
type Policy struct {
	// Propagation is how long a newly added key must be deployed before it
	// may seal, so that every instance can open what it seals: at least one
	// full deploy (longer for Lambda and edge fleets, whose old instances
	// linger).
	Propagation time.Duration
	// MaxLifetime is the longest a sealed value stays valid after it is
	// sealed: the session layer's absolute lifetime, or its longest idle
	// window if there is no absolute lifetime.
	MaxLifetime time.Duration
	// ClockSkew is the largest clock difference between instances.
	ClockSkew time.Duration
}

// errUnknownTime is returned by PromoteAt and RetireAt when the entry lacks
// the time they need (AddedAt or DemotedAt), so the question cannot be
// answered safely.
var errUnknownTime = fmt.Errorf("%w: the key's added or demoted time is unknown", ErrKeyring)

// PromoteAt returns the earliest time the decrypt-only key id may be
// promoted: AddedAt + Propagation + ClockSkew.
func (r *Keyring) PromoteAt(id crypto.KeyID, p Policy) (time.Time, error) {
	e, ok := r.lookup(id)
	switch {
	case !ok:
		return time.Time{}, fmt.Errorf("%w: no key %v", ErrKeyring, id)
	case e.State == Primary:
		return time.Time{}, fmt.Errorf("%w: key %v is already primary", ErrKeyring, id)
	case e.AddedAt.IsZero():
		return time.Time{}, errUnknownTime
	}
	return e.AddedAt.Add(p.Propagation + p.ClockSkew), nil
}

// RetireAt returns when the demoted key id is safe to remove: DemotedAt +
// Propagation + MaxLifetime + ClockSkew. Remove it once now is not before
// that time. Instances that have not yet picked
// up the promotion keep sealing with the old key for up to Propagation
// after DemotedAt; a value sealed then stays valid for MaxLifetime; clocks
// may disagree by ClockSkew. After RetireAt no value sealed by the key can
// still be valid, so removing it logs nobody out.
func (r *Keyring) RetireAt(id crypto.KeyID, p Policy) (time.Time, error) {
	e, ok := r.lookup(id)
	switch {
	case !ok:
		return time.Time{}, fmt.Errorf("%w: no key %v", ErrKeyring, id)
	case e.State == Primary:
		return time.Time{}, fmt.Errorf("%w: key %v is primary and still sealing", ErrKeyring, id)
	case e.DemotedAt.IsZero():
		return time.Time{}, errUnknownTime
	}
	return e.DemotedAt.Add(p.Propagation + p.MaxLifetime + p.ClockSkew), nil
}
