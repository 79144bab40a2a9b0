package cookiesession_test

import (
	"errors"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
)

// TestSessionErr: Session.Err gives the handler the class of the reason
// its request's cookie did not become its session, so that it can tell
// the user in words ("your session expired"), and nil when there was no
// cookie or it opened.
func TestSessionErr(t *testing.T) {
	t.Parallel()
	deny := new(cookiesession.DenyList)
	h := newManager(t, cookiesession.Config{Lifetime: time.Hour, Revoker: deny})
	expiring := h.seed(map[string]any{"n": 1}) // saved at t0
	other := newManager(t, cookiesession.Config{})
	h.clock.Advance(30 * time.Minute)
	valid := h.seed(map[string]any{"n": 1}) // saved at +30m
	revoked := h.seed(map[string]any{"n": 1})
	s := h.load(revoked)
	_ = s.Flush()
	h.clock.Advance(31 * time.Minute) // expiring is past its hour; the others are not
	h.errs.take()

	tests := []struct {
		name   string
		values []string
		want   error
		reason crypto.Reason
	}{
		{"no cookie", nil, nil, 0},
		{"valid", []string{valid}, nil, 0},
		{"expired", []string{expiring}, cookiesession.ErrExpired, 0},
		{"revoked", []string{revoked}, cookiesession.ErrRevoked, 0},
		{"malformed", []string{"junk"}, cookiesession.ErrInvalid, crypto.ReasonMalformed},
		{"tampered", []string{tamper(t, valid)}, cookiesession.ErrInvalid, crypto.ReasonUnauthentic},
		{"unknown key", []string{other.seed(map[string]any{"n": 1})}, cookiesession.ErrInvalid, crypto.ReasonUnknownKey},
		{"a bad one, then a good one", []string{"junk", valid}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadWith(h.m, tt.values...)
			err := s.Err()
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("Err() = %v, want %v", err, tt.want)
			case tt.reason != 0 && crypto.ReasonOf(err) != tt.reason:
				t.Errorf("Err() reason %v, want %v", crypto.ReasonOf(err), tt.reason)
			}
			if err != nil && s.Len() != 0 {
				t.Errorf("a rejected cookie left %d keys", s.Len())
			}
		})
	}
	h.errs.take()
}
