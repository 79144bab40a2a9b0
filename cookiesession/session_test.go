package cookiesession_test

import (
	"bytes"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
)

// TestSessionRedacted: printing a Session, with any verb, through log and
// log/slog, on its own or held in a field fmt cannot call methods on,
// never shows the incoming cookie (a bearer credential) nor the data.
func TestSessionRedacted(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	secret := "the-data-is-private"
	v := h.seed(map[string]any{"card": secret, secret: 1})
	forbidden := []string{v, v[len(v)-24:], secret}

	unopened := h.load(v)
	opened := h.load(v)
	_ = opened.Len()
	fresh := h.load()
	_ = fresh.Set("card", secret)
	var nilSession *cookiesession.Session

	type holder struct{ s *cookiesession.Session }
	type nested struct{ h holder }
	type byValue struct{ s cookiesession.Session }
	var outputs []string
	for _, s := range []*cookiesession.Session{unopened, opened, fresh, nilSession} {
		held := []any{s, holder{s}, &holder{s}, nested{holder{s}}, []*cookiesession.Session{s}, map[string]*cookiesession.Session{"k": s},
			struct{ i any }{s}}
		if s != nil {
			// A Session value, where its methods are out of fmt's reach.
			held = append(held, *s, byValue{*s}, &byValue{*s}, []cookiesession.Session{*s}, struct{ i any }{*s})
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.4v", "%z"} {
			for _, x := range held {
				outputs = append(outputs, fmt.Sprintf(verb, x))
			}
		}
		var buf bytes.Buffer
		log.New(&buf, "", 0).Print(s, holder{s})
		for _, handler := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
			slog.New(handler).Info("session", "s", s, "held", holder{s}, "any", slog.AnyValue(s))
		}
		outputs = append(outputs, buf.String())
	}
	for _, out := range outputs {
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Fatalf("printed session %q shows %q", out, f)
			}
		}
	}
	// What it does say.
	if got, want := fmt.Sprint(opened), opened.ID(); !strings.Contains(got, want) {
		t.Errorf("Sprint(opened session) = %q, want its ID %q", got, want)
	}
	if got := fmt.Sprint(unopened); !strings.Contains(got, "not opened") || unopened.Accessed() {
		t.Errorf("Sprint(unopened session) = %q, accessed %v: printing must not open it", got, unopened.Accessed())
	}
}
