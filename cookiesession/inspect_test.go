package cookiesession

import (
	"testing"
	"time"

	"github.com/crumbhq/crumb/internal/inspect"
)

// TestInspectExpiryRule checks the words cmd/crumb's inspect prints for
// each expiry rule, through the hook it reads them with.
func TestInspectExpiryRule(t *testing.T) {
	t.Parallel()
	m, _, _ := bufferManager(t)
	deadline := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		e    Expiry
		want string
	}{
		{DefaultExpiry, "default"},
		{BrowserClose, "browser close"},
		{IdleFor(30 * time.Minute), "idle for 30m0s"},
		{ExpiresAt(deadline), "fixed, until 2030-01-02T03:04:05Z"},
	} {
		s := m.Load(t.Context())
		s.SetExpiry(tc.e)
		if got := inspect.ExpiryRule(s); got != tc.want {
			t.Errorf("rule %+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
