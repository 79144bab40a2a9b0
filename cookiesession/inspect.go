package cookiesession

// The hook that cmd/crumb's inspect command reads a session's expiry rule
// through (internal/inspect).

import (
	"time"

	"github.com/crumbhq/crumb/internal/inspect"
)

func init() {
	inspect.ExpiryRule = func(session any) string {
		st := session.(*Session).use()
		if st == nil {
			return ""
		}
		defer st.mu.Unlock()
		return st.expiry.describe()
	}
}

// describe says what the rule is, in words.
func (e Expiry) describe() string {
	switch e.kind {
	case expBrowserClose:
		return "browser close"
	case expIdle:
		return "idle for " + time.Duration(e.value).String()
	case expAbsolute:
		return "fixed, until " + time.Unix(0, e.value).UTC().Format(time.RFC3339Nano)
	case expIn:
		return "fixed, " + time.Duration(e.value).String() + " after it is set"
	}
	return "default"
}
