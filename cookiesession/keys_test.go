package cookiesession_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestZeroHolder checks that a Source returning no keyring (a zero Holder,
// never given a ring) costs errors, not panics: cookies do not open, saves
// fail with ErrConfig, and the request goes on.
func TestZeroHolder(t *testing.T) {
	good, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	s := good.Load(context.Background())
	if err := s.Set("n", 1); err != nil {
		t.Fatal(err)
	}
	h, err := good.Commit(s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}

	var reported []error
	m, err := cookiesession.New(cookiesession.Config{
		Keys:    &rotation.Holder{},
		OnError: func(_ context.Context, err error) { reported = append(reported, err) },
	})
	if err != nil {
		t.Fatalf("New with a zero Holder: %v", err)
	}
	s = m.Load(context.Background(), c.Name+"="+c.Value)
	if _, ok, err := cookiesession.Get[int](s, "n"); ok || err != nil {
		t.Errorf("Get with no keyring = %v, %v; want a miss", ok, err)
	}
	if len(reported) != 1 || !errors.Is(reported[0], cookiesession.ErrConfig) {
		t.Errorf("reported %v, want one ErrConfig", reported)
	}
	if err := s.Set("n", 2); err != nil {
		t.Fatal(err)
	}
	h, err = m.Commit(s, http.StatusOK)
	if !errors.Is(err, cookiesession.ErrConfig) {
		t.Errorf("Commit with no keyring = %v, want ErrConfig", err)
	}
	if got := h.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("Commit with no keyring sent %q", got)
	}
}

// TestSetRefusesWhatGetCannotReturn checks that Set refuses a value that
// would not decode back into its own type, and leaves the session as it
// was.
func TestSetRefusesWhatGetCannotReturn(t *testing.T) {
	m, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Load(context.Background())
	for _, v := range []any{"\xff", []string{"ok", "\xfe"}, map[string]string{"\xff": "k"}, struct{ S string }{"\xff"}} {
		if err := s.Set("k", v); !errors.Is(err, cookiesession.ErrEncode) {
			t.Errorf("Set(%q) = %v, want ErrEncode", v, err)
		}
	}
	if s.Modified() || s.Has("k") {
		t.Errorf("refused values changed the session: modified %v, has %v", s.Modified(), s.Has("k"))
	}
}
