package cookiesession_test

// Tests of session.go and typed.go: Django's dict-like API and flags,
// typed values, flashes, concurrency, printing, and a nil session. Cases
// ported from Django name the Django test they come from.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
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

// TestSessionNil: outside Handler, FromContext gives nil, and the README's
// snippet, which ignores ok, gets ErrNoSession from every call instead of a
// nil dereference.
func TestSessionNil(t *testing.T) {
	t.Parallel()
	s, ok := cookiesession.FromContext(context.Background())
	if ok || s != nil {
		t.Fatalf("FromContext outside Handler = %v, %v", s, ok)
	}
	type Cart struct{ Items []string }
	errs := map[string]error{}
	_, _, errs["Get"] = cookiesession.Get[Cart](s, "cart")
	errs["Set"] = s.Set("cart", Cart{})
	_, _, errs["Pop"] = cookiesession.Pop[int](s, "a")
	_, errs["Data"] = cookiesession.Data[Cart](s)
	errs["SetData"] = cookiesession.SetData(s, Cart{})
	errs["AddFlash"] = cookiesession.AddFlash(s, "hi")
	_, errs["Flashes"] = cookiesession.Flashes[string](s)
	errs["SetSubject"] = s.SetSubject("ann")
	errs["Flush"] = s.Flush()
	errs["CycleKey"] = s.CycleKey()
	_, errs["Items"] = s.Items()
	errs["Err"] = s.Err()
	e := newHarness(t, nil)
	_, errs["Commit"] = commitHeader(e.m, s, http.StatusOK)
	for name, err := range errs {
		if !errors.Is(err, cookiesession.ErrNoSession) {
			t.Errorf("%s on a nil session = %v, want ErrNoSession", name, err)
		}
	}
	// The rest answer as for an empty session.
	s.Clear()
	s.MarkModified()
	s.SetExpiry(cookiesession.IdleFor(time.Minute))
	if s.Has("a") || s.Len() != 0 || s.Keys() != nil || s.ID() != "" || s.Subject() != "" || s.Delete("a") ||
		!s.IsEmpty() || s.Accessed() || s.Modified() || !s.ExpiryDate().IsZero() || s.Info() != (cookiesession.Info{}) {
		t.Error("a nil session answered as if it held something")
	}
}

// Django test_new_session: a new session is neither accessed nor
// modified.
func TestNewSession(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	flags(t, h.load(), false, false)
}

// Django test_get_empty: Get on an empty session misses (Django
// returns the default) and marks it accessed, not modified.
func TestGetMissing(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	got, ok, err := cookiesession.Get[string](s, "cat")
	if got != "" || ok || err != nil {
		t.Errorf(`Get("cat") = %q, %v, %v, want "", false, nil`, got, ok, err)
	}
	flags(t, s, true, false)
}

// Django test_store: Set marks the session modified and Pop returns
// the value.
func TestStore(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("cat", "dog"); err != nil {
		t.Fatalf(`Set("cat", "dog") error = %v`, err)
	}
	flags(t, s, true, true)
	got, ok, err := cookiesession.Pop[string](s, "cat")
	if got != "dog" || !ok || err != nil {
		t.Errorf(`Pop("cat") = %q, %v, %v, want "dog", true, nil`, got, ok, err)
	}
}

// Django test_pop: Pop of a present key returns it and marks the
// session accessed and modified; a later Get misses.
func TestPop(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"some key": "exists"})
	got, ok, err := cookiesession.Pop[string](s, "some key")
	if got != "exists" || !ok || err != nil {
		t.Errorf(`Pop("some key") = %q, %v, %v, want "exists", true, nil`, got, ok, err)
	}
	flags(t, s, true, true)
	wantMissing(t, s, "some key")
}

// Django test_pop_default and test_pop_default_named_argument: Pop
// of a missing key signals absence, so the caller's default applies; the
// session is accessed but not modified.
func TestPopDefault(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	// Go has no default argument: ok is false and the caller substitutes
	// "does not exist".
	got, ok, err := cookiesession.Pop[string](s, "some key")
	if err != nil || ok || got != "" {
		t.Errorf(`Pop("some key") = %q, %v, %v, want "", false, nil`, got, ok, err)
	}
	flags(t, s, true, false)
}

// Django test_pop_no_default_keyerror_raised: Pop of a missing key
// signals absence (Django raises KeyError) and leaves the session
// unmodified, here in a session that holds other keys.
func TestPopMissing(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	for name, s := range map[string]*cookiesession.Session{
		"new":         h.load(),
		"from cookie": h.reload(map[string]any{"other": 1}),
	} {
		t.Run(name, func(t *testing.T) {
			n := s.Len()
			got, ok, err := cookiesession.Pop[int](s, "some key")
			if got != 0 || ok || err != nil {
				t.Errorf(`Pop("some key") = %v, %v, %v, want 0, false, nil`, got, ok, err)
			}
			flags(t, s, true, false)
			if s.Len() != n {
				t.Errorf("Len() = %d after a missed Pop, want %d", s.Len(), n)
			}
		})
	}
}

// Django test_setdefault, in Go: crumb has no SetDefault; a
// handler Gets, and Sets on a miss. Only the insert marks the session
// modified.
func TestSetDefault(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	setDefault := func(s *cookiesession.Session, key, v string) (string, error) {
		got, ok, err := cookiesession.Get[string](s, key)
		if ok || err != nil {
			return got, err
		}
		return v, s.Set(key, v)
	}
	s := h.load()
	for _, v := range []string{"bar", "baz"} {
		got, err := setDefault(s, "foo", v)
		if got != "bar" || err != nil {
			t.Errorf(`setdefault("foo", %q) = %q, %v, want "bar", nil`, v, got, err)
		}
	}
	flags(t, s, true, true)

	// A hit alone does not modify.
	s = h.reload(map[string]any{"foo": "bar"})
	got, err := setDefault(s, "foo", "baz")
	if got != "bar" || err != nil {
		t.Errorf(`setdefault("foo", "baz") on a stored "bar" = %q, %v, want "bar", nil`, got, err)
	}
	flags(t, s, true, false)
}

// Django test_update, in Go: crumb has no Update; a handler Sets
// each entry, and each Set marks the session accessed and modified.
// Django's update marks it modified even with nothing to merge, which
// MarkModified does.
func TestUpdate(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	for k, v := range map[string]any{"update key": 1} {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("Set() error = %v", err)
		}
	}
	flags(t, s, true, true)
	got, ok, err := cookiesession.Get[int](s, "update key")
	if got != 1 || !ok || err != nil {
		t.Errorf(`Get("update key") = %v, %v, %v, want 1, true, nil`, got, ok, err)
	}

	s = h.reload(map[string]any{"x": 1})
	s.MarkModified()
	flags(t, s, true, true)
}

// Django test_has_key: Has reports a present key and marks the
// session accessed, not modified.
func TestHas(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"some key": 1})
	if !s.Has("some key") {
		t.Errorf(`Has("some key") = false, want true`)
	}
	flags(t, s, true, false)
	if s.Has("other key") {
		t.Errorf(`Has("other key") = true, want false`)
	}
}

// Django test_values: the values (here through Items) are
// nothing, then the stored value; reading them marks the session
// accessed, not modified.
func TestValues(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	got, err := s.Items()
	if err != nil || len(got) != 0 {
		t.Errorf("Items() of an empty session = %v, %v, want none, nil", got, err)
	}
	flags(t, s, true, false)

	s = h.reload(map[string]any{"some key": 1})
	got, err = s.Items()
	if want := map[string]any{"some key": int64(1)}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Items() = %#v, %v, want %#v, nil", got, err, want)
	}
	flags(t, s, true, false)
}

// Django test_keys: Keys lists the keys and marks the session
// accessed, not modified.
func TestKeys(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"x": 1})
	if got, want := s.Keys(), []string{"x"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
	flags(t, s, true, false)
}

// Django test_items: Items lists the pairs and marks the session
// accessed, not modified.
func TestItems(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"x": 1})
	got, err := s.Items()
	if want := map[string]any{"x": int64(1)}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Items() = %#v, %v, want %#v, nil", got, err, want)
	}
	flags(t, s, true, false)
}

// Django test_clear: Clear empties the data, keeps the ID and
// marks the session accessed and modified.
func TestClear(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"x": 1})
	s.Clear()
	flags(t, s, true, true)
	got, err := s.Items()
	if err != nil || len(got) != 0 {
		t.Errorf("Items() after Clear = %v, %v, want empty, nil", got, err)
	}
	if s.ID() == "" {
		t.Errorf("ID() after Clear = \"\", want the cookie's ID kept")
	}
	if s.IsEmpty() {
		t.Errorf("IsEmpty() after Clear = true, want false: the ID is kept")
	}

	// Clear also removes a custom expiry (Django's _session_expiry is data).
	c := h.load()
	if err := c.Set("x", 1); err != nil {
		t.Fatal(err)
	}
	c.SetExpiry(cookiesession.IdleFor(time.Minute))
	c = h.load(h.save(c))
	c.Clear()
	if got := c.ExpiryDate().Sub(h.now()); got != sca {
		t.Errorf("ExpiryDate() - now after Clear = %v, want %v", got, sca)
	}
}

// Django test_delete: Django's delete() is crumb's Flush. It leaves
// no data and no ID and never fails, even with no cookie or a bad one; with
// revocation, the old cookie no longer opens.
func TestDelete(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		t.Run(map[bool]string{false: "no revoker", true: "revoker"}[revoke], func(t *testing.T) {
			cfg := cookiesession.Config{}
			if revoke {
				cfg.Revoker = &cookiesession.DenyList{}
			}
			h := newManager(t, cfg)
			old := h.seed(map[string]any{"foo": "bar"})
			s := h.load(old)
			if err := s.Flush(); err != nil {
				t.Errorf("Flush() error = %v", err)
			}
			wantEmpty(t, s)
			h.wantDeletion(onlyCookie(t, h.commit(s, http.StatusOK)))

			r := h.load(old)
			if revoke {
				wantEmpty(t, r)
				h.wantErrors(cookiesession.ErrRevoked)
			} else {
				wantString(t, r, "foo", "bar")
				h.wantErrors()
			}

			// Deleting a session that has no key never fails.
			for _, v := range [][]string{nil, {"1"}, {tamper(t, old)}} {
				s := h.load(v...)
				if err := s.Flush(); err != nil {
					t.Errorf("Flush() with cookies %q error = %v", v, err)
				}
				wantEmpty(t, s)
			}
		})
	}
}

// Django test_flush: Flush drops the ID and marks the session
// accessed and modified; with revocation, replaying the previous cookie
// gives an empty session.
func TestFlush(t *testing.T) {
	t.Parallel()
	revoker := &cookiesession.DenyList{}
	h := newManager(t, cookiesession.Config{Revoker: revoker})
	old := h.seed(map[string]any{"foo": "bar"})
	s := h.load(old)
	id := s.ID()
	if id == "" {
		t.Fatal(`ID() of a saved session = "", want an ID`)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	flags(t, s, true, true)
	if got := s.ID(); got != "" {
		t.Errorf("ID() after Flush = %q, want empty", got)
	}
	wantMissing(t, s, "foo")
	if !s.IsEmpty() {
		t.Errorf("IsEmpty() after Flush = false, want true")
	}
	h.commit(s, http.StatusOK)

	r := h.load(old)
	wantMissing(t, r, "foo")
	h.wantErrors(cookiesession.ErrRevoked)
}

// Django's mixin test_cycle (a no-op for Django's cookie engine):
// CycleKey gives a new ID, keeps the items and the custom expiry, and marks
// the session modified; with revocation the previous cookie no longer
// opens.
func TestCycle(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{Revoker: &cookiesession.DenyList{}})
	s := h.load()
	for k, v := range map[string]any{"a": "c", "b": "d"} {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s.SetExpiry(cookiesession.IdleFor(30 * time.Minute))
	old := h.save(s)

	s = h.load(old)
	oldID := s.ID()
	oldItems, err := s.Items()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CycleKey(); err != nil {
		t.Fatalf("CycleKey() error = %v", err)
	}
	flags(t, s, true, true)
	newID := s.ID()
	if newID == oldID || newID == "" {
		t.Errorf("ID() after CycleKey = %q, want a new ID (old %q)", newID, oldID)
	}
	if got, err := s.Items(); err != nil || !reflect.DeepEqual(got, oldItems) {
		t.Errorf("Items() after CycleKey = %v, %v, want %v, nil", got, err, oldItems)
	}
	if got := s.ExpiryDate().Sub(h.now()); got != 30*time.Minute {
		t.Errorf("ExpiryAge() after CycleKey = %v, want 30m0s", got)
	}

	cycled := h.load(h.save(s))
	if got := cycled.ID(); got != newID {
		t.Errorf("ID() of the cycled cookie = %q, want %q", got, newID)
	}
	if got, err := cycled.Items(); err != nil || !reflect.DeepEqual(got, oldItems) {
		t.Errorf("Items() of the cycled cookie = %v, %v, want %v, nil", got, err, oldItems)
	}
	if got := cycled.ExpiryDate().Sub(h.now()); got != 30*time.Minute {
		t.Errorf("ExpiryAge() of the cycled cookie = %v, want 30m0s", got)
	}
	h.wantErrors()

	wantEmpty(t, h.load(old))
	h.wantErrors(cookiesession.ErrRevoked)
}

// Django test_cycle_with_no_session_cache: CycleKey on a session
// whose cookie has not been opened yet keeps the items.
func TestCycleFromColdLoad(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.reload(map[string]any{"a": "c", "b": "d"})
	if err := s.CycleKey(); err != nil {
		t.Fatalf("CycleKey() error = %v", err)
	}
	got, err := s.Items()
	if want := map[string]any{"a": "c", "b": "d"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Items() after CycleKey = %v, %v, want %v, nil", got, err, want)
	}
}

// Django test_session_key_is_read_only: the API offers no way to
// set a session's ID.
func TestIDReadOnly(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[*cookiesession.Session]()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if (strings.Contains(m.Name, "ID") || strings.Contains(m.Name, "SessionKey")) && m.Type.NumIn() > 1 {
			t.Errorf("Session.%s takes arguments %v: the ID must be read-only", m.Name, m.Type)
		}
	}
	for i := range typ.Elem().NumField() {
		if f := typ.Elem().Field(i); f.IsExported() {
			t.Errorf("Session has exported field %s", f.Name)
		}
	}

	h := newManager(t, cookiesession.Config{})
	s := h.load(h.seed(map[string]any{"k": "v"}))
	id := s.ID()
	info := s.Info()
	info.ID = "chosen-by-caller"
	if got := s.ID(); got != id {
		t.Errorf("ID() after changing a copy of Info = %q, want %q", got, id)
	}
}

// Django test_test_cookie, in Go: crumb has no test-cookie
// methods; Django's test value is an ordinary key. It is absent, set (and
// seen to work on the next request), then deleted; deleting an absent
// value modifies nothing.
func TestTestCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	worked := func(s *cookiesession.Session) bool {
		v, _, err := cookiesession.Get[string](s, "testcookie")
		return err == nil && v == "worked"
	}
	s := h.load()
	if s.Has("testcookie") || worked(s) {
		t.Errorf("new session: Has(testcookie), worked = %v, %v, want false, false", s.Has("testcookie"), worked(s))
	}
	if err := s.Set("testcookie", "worked"); err != nil {
		t.Fatal(err)
	}
	wantString(t, s, "testcookie", "worked")
	// It survives the round trip to the browser.
	s = h.load(h.save(s))
	if !worked(s) {
		t.Errorf("worked on the next request = false, want true")
	}
	if !s.Delete("testcookie") || s.Has("testcookie") || worked(s) {
		t.Errorf("after Delete: Has, worked = %v, %v, want false, false", s.Has("testcookie"), worked(s))
	}
	flags(t, s, true, true)

	// Deleting an absent test value (Django: KeyError) modifies nothing.
	s = h.reload(map[string]any{"other": 1})
	if s.Delete("testcookie") {
		t.Error("Delete of an absent key reported it present")
	}
	flags(t, s, true, false)
}

// Django test_is_empty: a session built with no cookie is empty,
// and asking does not access it.
func TestNewIsEmpty(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if !s.IsEmpty() {
		t.Errorf("IsEmpty() = false, want true")
	}
	flags(t, s, false, false)
}

func TestSessionGetWrongType(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(func(s *cookiesession.Session) {
		_ = s.Set("int", 7)
		_ = s.Set("str", "seven")
		_ = s.Set("list", []string{"a"})
		_ = s.Set("map", map[string]int{"a": 1})
		_ = s.Set("neg", -1)
		_ = s.Set("big", uint64(math.MaxInt64))
		_ = s.Set("int300", 300)
		_ = cookiesession.SetData(s, "typed")
		_ = cookiesession.AddFlash(s, "flash")
	})
	s := e.load(v)
	type pair struct{ A, B int }
	checks := []struct {
		name string
		get  func() error
	}{
		{"int as string", func() error { _, _, err := cookiesession.Get[string](s, "int"); return err }},
		{"string as int", func() error { _, _, err := cookiesession.Get[int](s, "str"); return err }},
		{"list as map", func() error { _, _, err := cookiesession.Get[map[string]int](s, "list"); return err }},
		{"map as list", func() error { _, _, err := cookiesession.Get[[]int](s, "map"); return err }},
		{"map as struct of ints", func() error { _, _, err := cookiesession.Get[[2]pair](s, "map"); return err }},
		{"negative as uint", func() error { _, _, err := cookiesession.Get[uint](s, "neg"); return err }},
		{"int64 max as int32", func() error { _, _, err := cookiesession.Get[int32](s, "big"); return err }},
		{"300 as int8", func() error { _, _, err := cookiesession.Get[int8](s, "int300"); return err }},
		{"into a channel", func() error { _, _, err := cookiesession.Get[chan int](s, "int"); return err }},
		{"into a func", func() error { _, _, err := cookiesession.Get[func()](s, "str"); return err }},
		{"Pop wrong type", func() error { _, _, err := cookiesession.Pop[bool](s, "str"); return err }},
		{"Data wrong type", func() error { _, err := cookiesession.Data[int](s); return err }},
		{"Flashes wrong type", func() error { _, err := cookiesession.Flashes[int](s); return err }},
	}
	for _, c := range checks {
		if err := c.get(); !errors.Is(err, cookiesession.ErrDecode) {
			t.Errorf("%s: %v, want ErrDecode", c.name, err)
		}
	}
	// Failed reads change nothing.
	if s.Modified() || s.Len() != 7 {
		t.Errorf("failed reads modified the session (Modified %v, Len %d)", s.Modified(), s.Len())
	}
	if f, err := cookiesession.Flashes[string](s); err != nil || !slices.Equal(f, []string{"flash"}) {
		t.Errorf("Flashes after a failed read = %q, %v", f, err)
	}
}

func TestSessionConcurrent(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))
	s := e.load(v)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", g)
			for i := range 100 {
				if err := s.Set(key, i); err != nil {
					t.Error(err)
					return
				}
				if got, ok := getInt(t, s, key); !ok || got != i {
					t.Errorf("goroutine %d: Get = %d, %v; want %d", g, got, ok, i)
				}
				getInt(t, s, "n")
				_ = s.Has("n")
				_ = s.Keys()
				_ = s.Len()
				_, _ = s.Items()
				_ = cookiesession.AddFlash(s, i)
				_, _ = cookiesession.Flashes[int](s)
				_, _, _ = cookiesession.Pop[int](s, "shared")
				_ = s.Set("shared", g)
				_ = s.Info()
				if i%10 == 0 {
					s.Delete(key)
				}
			}
			s.Delete(key)
		})
	}
	wg.Wait()
	c := e.commitOne(s)
	got := e.load(c.Value)
	if keys := got.Keys(); !slices.Equal(keys, []string{"n", "shared"}) {
		t.Errorf("keys after concurrent use = %q, want [n shared]", keys)
	}
}

func TestSessionSmallAPIs(t *testing.T) {
	// Not parallel: it counts AEAD opens.
	e := newHarness(t, nil)
	v := e.saveWith(setter(t, "n", 1))

	// MarkModified forces a save of an unchanged session.
	s := e.load(v)
	s.MarkModified()
	if !s.Modified() || e.commitOne(s) == nil {
		t.Errorf("MarkModified did not force a save")
	}
	// Data on a session without a typed value is the zero value.
	if d, err := cookiesession.Data[struct{ A int }](e.load(v)); err != nil || d.A != 0 {
		t.Errorf("Data without a typed value = %+v, %v", d, err)
	}
	// A candidate longer than one cookie can be is junk, unopened.
	before := testhook.Opens(e.key)
	long := v[:format.HeaderTextLen] + strings.Repeat("A", format.MaxChunkLen)
	if s := e.load(long); s.Len() != 0 || testhook.Opens(e.key) != before {
		t.Errorf("an over-long candidate was opened")
	}
	if errs := e.errs.take(); len(errs) != 1 || crypto.ReasonOf(errs[0]) != crypto.ReasonMalformed {
		t.Errorf("over-long candidate reported %v, want ReasonMalformed", errs)
	}
	// TooLargeError describes itself.
	err := error(&cookiesession.TooLargeError{Size: 5000, Limit: 4096})
	if msg := err.Error(); !strings.Contains(msg, "5000") || !strings.Contains(msg, "4096") || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Errorf("TooLargeError.Error() = %q", msg)
	}
}

// TestSessionKeysFromCookie checks every way of reading the keys of a
// session that came in a cookie, before and after the session builds its
// map: keys of many lengths, sharing prefixes, non-ASCII, and absent keys
// that sort before, between and after them.
func TestSessionKeysFromCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	data := map[string]any{"": 0, "a": 1, "b": 2, "ab": 3, "ba": 4, "abc": 5, "é": 6, "zzzzzzzz": 7, "a\x00": 8}
	absent := []string{"c", "aa", "abd", "abcd", "zzzzzzzzz", "\x00", "e", "ü"}
	value := h.seed(data)
	check := func(t *testing.T, s *cookiesession.Session) {
		t.Helper()
		if s.Len() != len(data) {
			t.Errorf("Len() = %d, want %d", s.Len(), len(data))
		}
		for k, want := range data {
			if got, ok := getInt(t, s, k); !ok || got != want {
				t.Errorf("Get(%q) = %d, %v; want %d", k, got, ok, want)
			}
			if !s.Has(k) {
				t.Errorf("Has(%q) = false", k)
			}
		}
		for _, k := range absent {
			if s.Has(k) {
				t.Errorf("Has(%q) = true for an absent key", k)
			}
			if _, ok, err := cookiesession.Get[int](s, k); ok || err != nil {
				t.Errorf("Get(%q) = %v, %v for an absent key", k, ok, err)
			}
		}
	}
	t.Run("as read", func(t *testing.T) { check(t, h.load(value)) })
	t.Run("after a change", func(t *testing.T) {
		s := h.load(value)
		if !s.Delete("zzzzzzzz") || !s.Delete("a") {
			t.Fatal("Delete of a present key reported false")
		}
		if err := s.Set("zzzzzzzz", 7); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("a", 1); err != nil {
			t.Fatal(err)
		}
		check(t, s)
		check(t, h.load(h.save(s)))
	})
	t.Run("unchanged, re-sealed", func(t *testing.T) {
		s := h.load(value)
		s.MarkModified()
		check(t, h.load(h.save(s)))
	})
}
