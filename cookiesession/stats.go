package cookiesession

// This file counts what a Manager does with cookies, per key and per
// reason, for operators: Manager.Stats.

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
)

// Stats is a snapshot of what a Manager has done with session cookies
// since New built it. Per key, it shows when an old key carries no more
// traffic (no cookie opened under it for a whole session lifetime: safe to
// retire, as rotation.Keyring.RetireAt computes); per reason, why cookies
// are refused. It encodes to JSON, so that it can be published without a
// dependency:
//
//	expvar.Publish("crumb", expvar.Func(func() any { return sessions.Stats() }))
type Stats struct {
	// Keys holds the counts of each key that has opened, sealed or
	// refused a cookie, by key ID (crypto.KeyID.String). Keys that only
	// cookies from elsewhere name (unknown keys) are counted under
	// Rejected["unknown key"], not here: their IDs are the client's
	// choice.
	Keys map[string]KeyStats `json:"keys"`
	// Rejected counts the cookies that did not become a session, by the
	// class of the reason: "malformed", "unknown key", "unauthentic", "bad
	// payload" (crypto.Reason's words), "expired", "revoked", "not checked"
	// (Config.Revoker failed) and "no keys" (Config.Keys gave none).
	Rejected map[string]uint64 `json:"rejected"`
}

// KeyStats counts what one key did.
type KeyStats struct {
	// Opened counts the cookies it sealed that became a request's session.
	Opened uint64 `json:"opened"`
	// Resealed counts those that were sealed again under the primary key
	// because this key is no longer primary.
	Resealed uint64 `json:"resealed"`
	// Sealed counts the cookies it sealed as the primary key.
	Sealed uint64 `json:"sealed"`
	// Rejected counts the cookies naming it that were refused after the
	// key was found: a wrong tag, a bad payload, expired or revoked.
	Rejected uint64 `json:"rejected"`
}

// Stats returns what the Manager has done so far. It may be called at any
// time, concurrently with requests.
func (m *Manager) Stats() Stats {
	s := Stats{Keys: map[string]KeyStats{}, Rejected: map[string]uint64{}}
	m.stats.keys.Range(func(id, c any) bool {
		k := c.(*keyCounters)
		s.Keys[id.(crypto.KeyID).String()] = KeyStats{
			Opened: k.opened.Load(), Resealed: k.resealed.Load(), Sealed: k.sealed.Load(), Rejected: k.rejected.Load(),
		}
		return true
	})
	for i := range m.stats.reasons {
		if n := m.stats.reasons[i].Load(); n > 0 {
			s.Rejected[reasonNames[i]] = n
		}
	}
	return s
}

// stats are a Manager's counters.
type stats struct {
	keys    sync.Map // crypto.KeyID → *keyCounters, for keys of the Manager's rings only
	reasons [len(reasonNames)]atomic.Uint64
}

type keyCounters struct {
	opened, resealed, sealed, rejected atomic.Uint64
}

// key returns the counters of the key id.
func (s *stats) key(id crypto.KeyID) *keyCounters {
	if c, ok := s.keys.Load(id); ok {
		return c.(*keyCounters)
	}
	c, _ := s.keys.LoadOrStore(id, new(keyCounters))
	return c.(*keyCounters)
}

// The reasons of Stats.Rejected, in the order of their counters.
var reasonNames = [...]string{"malformed", "unknown key", "unauthentic", "bad payload", "expired", "revoked", "not checked", "no keys"}

const (
	reasonMalformed = iota
	reasonUnknownKey
	reasonUnauthentic
	reasonPayload
	reasonExpired
	reasonRevoked
	reasonNotChecked
	reasonNoKeys
)

// rejected counts the refusal of value with err. A refusal after the key
// was found counts against that key too.
func (s *stats) rejected(value string, err error) {
	var ce *checkError
	r := reasonMalformed
	switch {
	case errors.Is(err, errNoKeyring):
		r = reasonNoKeys
	case errors.As(err, &ce):
		r = reasonNotChecked
	case errors.Is(err, ErrExpired):
		r = reasonExpired
	case errors.Is(err, ErrRevoked):
		r = reasonRevoked
	default:
		switch crypto.ReasonOf(err) {
		case crypto.ReasonUnknownKey:
			r = reasonUnknownKey
		case crypto.ReasonUnauthentic:
			r = reasonUnauthentic
		case crypto.ReasonPayload:
			r = reasonPayload
		}
	}
	s.reasons[r].Add(1)
	switch r {
	case reasonUnauthentic, reasonPayload, reasonExpired, reasonRevoked, reasonNotChecked:
		if h, ok := format.HeaderOf(value); ok {
			s.key(h.KeyID).rejected.Add(1)
		}
	}
}
