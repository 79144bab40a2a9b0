package cookiesession_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// TestZeroHolder checks that New refuses a Source that has no keyring (a
// zero Holder, never given a ring): it would fail every request.
func TestZeroHolder(t *testing.T) {
	t.Parallel()
	m, err := cookiesession.New(cookiesession.Config{Keys: &rotation.Holder{}})
	if !errors.Is(err, cookiesession.ErrConfig) || m != nil {
		t.Fatalf("New with a zero Holder = %v, %v; want nil, ErrConfig", m, err)
	}
}

// vanishingSource has a keyring until it is told to lose it.
type vanishingSource struct {
	ring *rotation.Keyring
	gone atomic.Bool
}

func (v *vanishingSource) At(time.Time) *rotation.Keyring {
	if v.gone.Load() {
		return nil
	}
	return v.ring
}

// TestKeyringLost checks that a Source that stops returning a keyring
// after New costs errors, not panics: cookies do not open and are not
// deleted (they are valid with the keys this instance lost), saves fail
// with ErrConfig, both are reported at Error level, and the request goes on.
func TestKeyringLost(t *testing.T) {
	t.Parallel()
	src := &vanishingSource{ring: newRing(t, newKey(t))}
	reported := &errorLog{}
	var logs bytes.Buffer
	m, err := cookiesession.New(cookiesession.Config{
		Keys:   src,
		Logger: slog.New(teeHandler{reported, slog.NewTextHandler(&logs, nil)}),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Load(context.Background())
	if err := s.Set("n", 1); err != nil {
		t.Fatal(err)
	}
	h, err := commitHeader(m, s, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}

	src.gone.Store(true)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if _, ok, err := cookiesession.Get[int](s, "n"); ok || err != nil {
			t.Errorf("Get with no keyring = %v, %v; want a miss", ok, err)
		}
		if err := s.Err(); !errors.Is(err, cookiesession.ErrConfig) {
			t.Errorf("Err() = %v, want ErrConfig", err)
		}
		if err := s.Set("n", 2); err != nil {
			t.Fatal(err)
		}
	})).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, want 200", rec.Code)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("with no keyring the response sent %q, want nothing", got)
	}
	if got := reported.take(); len(got) != 2 || !errors.Is(got[0], cookiesession.ErrConfig) || !errors.Is(got[1], cookiesession.ErrConfig) {
		t.Errorf("logged %v, want ErrConfig for the open and the save", got)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("logged %d errors, want 2:\n%s", n, logs.String())
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

// teeHandler sends each record to both handlers.
type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t[0].Enabled(ctx, l) || t[1].Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(a), t[1].WithAttrs(a)}
}

func (t teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{t[0].WithGroup(g), t[1].WithGroup(g)}
}
