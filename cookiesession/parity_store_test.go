package cookiesession_test

// Django parity: the dict-like store and its flags, ported from Django's
// SessionTestsMixin; each case names the Django test it ports.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/internal/format"
)

// Case 1, Django test_new_session: a new session is neither accessed nor
// modified.
func TestNewSession(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	flags(t, h.load(), false, false)
}

// Case 2, Django test_get_empty: Get on an empty session misses (Django
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

// Case 3, Django test_store: Set marks the session modified and Pop returns
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

// Case 4, Django test_pop: Pop of a present key returns it and marks the
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

// Case 5, Django test_pop_default and test_pop_default_named_argument: Pop
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

// Case 6, Django test_pop_no_default_keyerror_raised: Pop of a missing key
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

// Case 7, Django test_setdefault, in Go: crumb has no SetDefault; a
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

// Case 8, Django test_update, in Go: crumb has no Update; a handler Sets
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

// Case 9, Django test_has_key: Has reports a present key and marks the
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

// Case 10, Django test_values: the values (here through Items) are
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

// Case 11, Django test_keys: Keys lists the keys and marks the session
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

// Case 12, Django test_items: Items lists the pairs and marks the session
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

// Case 13, Django test_clear: Clear empties the data, keeps the ID and
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

// Case 14, Django test_save_doesnt_clear_data and test_save: saving keeps
// the data in the session, and the new cookie opens to the same data.
func TestSaveKeepsData(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	if err := s.Set("a", "b"); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := h.m.Commit(s, http.StatusOK, w.Header()); err != nil {
		t.Fatalf("Commit() error = %v", err)
	}
	wantString(t, s, "a", "b")
	c := onlyCookie(t, w.Header())
	r := h.load(c.Value)
	wantString(t, r, "a", "b")
	if got, want := r.ID(), s.ID(); got != want || got == "" {
		t.Errorf("ID of the saved cookie = %q, want %q (the saving session's, non-empty)", got, want)
	}
}

// Case 15, Django test_decode and signing's test_sign_unsign,
// test_dumps_loads and test_sign_unsign_object: values with separators,
// non-ASCII text, lists and maps round-trip exactly, and the cookie never
// contains the plaintext. Django compresses large payloads; crumb seals
// them as they are, so a large repetitive value stands for that variant.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	type nested struct {
		Name string
		Tags []string
		Sub  map[string][]int
	}
	values := map[string]any{
		"colons":   "jkl:mno:pqr:stu",
		"unicode":  "jaźń 東京 café 🍪 \u2019quotes\u2019",
		"control":  "tab\tnewline\nnul\x00end;semi,comma \"quote\"",
		"list":     []string{"first-item", "second-item", "a:b"},
		"map":      map[string]string{"inner-key": "inner-value", "colon:key": "x"},
		"nested":   nested{Name: "nested-name", Tags: []string{"tag-one"}, Sub: map[string][]int{"k": {1, 2, 3}}},
		"repeated": strings.Repeat("x", 200),
		"empty":    "",
	}
	h := newManager(t, cookiesession.Config{})
	value := h.seed(values)
	s := h.load(value)

	check := func(key string, got any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, values[key]) {
			t.Errorf("Get(%q) = %#v, %v, want %#v, nil", key, got, err, values[key])
		}
	}
	for _, k := range []string{"colons", "unicode", "control", "repeated", "empty"} {
		v, _, err := cookiesession.Get[string](s, k)
		check(k, v, err)
	}
	l, _, err := cookiesession.Get[[]string](s, "list")
	check("list", l, err)
	m, _, err := cookiesession.Get[map[string]string](s, "map")
	check("map", m, err)
	n, _, err := cookiesession.Get[nested](s, "nested")
	check("nested", n, err)

	sealed, err := decodeText(value)
	if err != nil {
		t.Fatalf("decodeText(cookie) error = %v", err)
	}
	for _, plain := range []string{"jkl:mno:pqr:stu", "東京", "café", "first-item", "inner-value", "nested-name", "xxxxxxxx", "colon:key"} {
		if strings.Contains(value, plain) || bytes.Contains(sealed, []byte(plain)) {
			t.Errorf("cookie contains the plaintext %q", plain)
		}
	}
}

// Case 16, signing's test_sign_unsign_non_string, and the limits of
// Django's JSON: ints, floats, bools, bytes, times and integer map keys
// keep their types through the cookie (Django turns key 0 into "0" and
// rejects datetimes).
func TestTypedValues(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, time.February, 29, 23, 59, 58, 123456789, time.FixedZone("X", 5*3600+1800))
	h := newManager(t, cookiesession.Config{})
	s := h.load()
	for k, v := range map[string]any{
		"int": -42, "big": int64(1) << 60, "float": 1.5, "bool": true, "bytes": []byte{0, 1, 0xfe, 0xff},
		"time": when, "intkeys": map[int]string{0: "zero", -7: "minus seven"},
	} {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("Set(%q, %#v) error = %v", k, v, err)
		}
	}
	s = h.load(h.save(s))

	if v, _, err := cookiesession.Get[int](s, "int"); v != -42 || err != nil {
		t.Errorf(`Get[int]("int") = %v, %v, want -42, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[int64](s, "big"); v != 1<<60 || err != nil {
		t.Errorf(`Get[int64]("big") = %v, %v, want %v, nil`, v, err, int64(1)<<60)
	}
	if v, _, err := cookiesession.Get[float64](s, "float"); v != 1.5 || err != nil {
		t.Errorf(`Get[float64]("float") = %v, %v, want 1.5, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[bool](s, "bool"); !v || err != nil {
		t.Errorf(`Get[bool]("bool") = %v, %v, want true, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[[]byte](s, "bytes"); !bytes.Equal(v, []byte{0, 1, 0xfe, 0xff}) || err != nil {
		t.Errorf(`Get[[]byte]("bytes") = %x, %v, want 0001feff, nil`, v, err)
	}
	if v, _, err := cookiesession.Get[time.Time](s, "time"); !v.Equal(when) || err != nil {
		t.Errorf(`Get[time.Time]("time") = %v, %v, want %v, nil`, v, err, when)
	}
	want := map[int]string{0: "zero", -7: "minus seven"}
	if v, _, err := cookiesession.Get[map[int]string](s, "intkeys"); !reflect.DeepEqual(v, want) || err != nil {
		t.Errorf(`Get[map[int]string]("intkeys") = %v, %v, want %v, nil`, v, err, want)
	}
	// Generic decoding keeps the scalar kinds apart too.
	items := map[string]any{}
	for _, k := range []string{"int", "float", "bool", "bytes"} {
		v, _, err := cookiesession.Get[any](s, k)
		if err != nil {
			t.Fatalf("Get[any](%q) error = %v", k, err)
		}
		items[k] = v
	}
	wantItems := map[string]any{"int": int64(-42), "float": 1.5, "bool": true, "bytes": []byte{0, 1, 0xfe, 0xff}}
	if !reflect.DeepEqual(items, wantItems) {
		t.Errorf("Get[any] = %#v, want %#v", items, wantItems)
	}
}

// Case 17, Django test_delete: Django's delete() is crumb's Flush. It leaves
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

// Case 18, Django test_flush: Flush drops the ID and marks the session
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

// Case 19, the mixin's test_cycle (a no-op for Django's cookie engine):
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

// Case 20, Django test_cycle_with_no_session_cache: CycleKey on a session
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

// Case 21, Django test_invalid_key: the junk cookie "1" gives a session
// that saves and deletes without failing, whose ID never comes from "1".
func TestJunkCookie(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	s := h.load("1")
	w := httptest.NewRecorder()
	if err := h.m.Commit(s, http.StatusOK, w.Header()); err != nil {
		t.Errorf("Commit() error = %v", err)
	}
	if id := s.ID(); id != "" {
		t.Errorf("ID() = %q, want empty: nothing was stored", id)
	}
	wantMissing(t, s, "cat")
	h.wantDeletion(onlyCookie(t, w.Header())) // the junk is removed
	h.wantErrors(cookiesession.ErrInvalid)
	if err := s.Flush(); err != nil {
		t.Errorf("Flush() error = %v", err)
	}

	// A view that stores data gets a cookie under a fresh random ID.
	s = h.load("1")
	if err := s.Set("x", 1); err != nil {
		t.Fatal(err)
	}
	id := h.load(h.save(s)).ID()
	if len(id) != 22 {
		t.Errorf("ID() of the new session = %q, want 22 random characters", id)
	}
	h.wantErrors(cookiesession.ErrInvalid)
}

// Case 22, Django test_session_key_empty_string_invalid,
// test_session_key_too_short_invalid and test_session_key_valid_string_saved:
// only a value that may be a crumb envelope counts as a key before the
// cookie is opened.
func TestImplausibleValue(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	valid := h.seed(map[string]any{"k": "v"})
	raw, err := decodeText(valid)
	if err != nil {
		t.Fatal(err)
	}
	otherVersion := bytes.Clone(raw)
	otherVersion[0] = 0x02
	forged := bytes.Clone(raw)
	forged[len(forged)-1] ^= 1
	for _, tc := range []struct {
		name, value string
		empty       bool
	}{
		{"empty", "", true},
		{"too short", "1234567", true},
		{"eight characters", "12345678", true},
		{"foreign alphabet", strings.Repeat("!", len(valid)), true},
		{"padded base64", valid + "==", true},
		{"unknown version", format.Encode(otherVersion), true},
		{"valid", valid, false},
		{"plausible forgery", format.Encode(forged), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.load(tc.value)
			if got := s.IsEmpty(); got != tc.empty {
				t.Errorf("IsEmpty() = %v, want %v", got, tc.empty)
			}
			flags(t, s, false, false)
		})
	}
	h.wantErrors() // IsEmpty opened nothing
}

// Case 23, Django test_session_key_is_read_only: the API offers no way to
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

// recordingRevoker accepts every session and records what it is told.
type recordingRevoker struct {
	checks  []cookiesession.Info
	revoked []cookiesession.Info
	until   []time.Time
}

func (r *recordingRevoker) Check(_ context.Context, info cookiesession.Info) error {
	r.checks = append(r.checks, info)
	return nil
}

func (r *recordingRevoker) Revoke(_ context.Context, info cookiesession.Info, until time.Time) error {
	r.revoked = append(r.revoked, info)
	r.until = append(r.until, until)
	return nil
}

// Case 24, Django test_session_load_does_not_create_record: opening an
// unknown or bad cookie gives no ID and writes nothing to the revocation
// store, even when the session is then flushed.
func TestBadCookieNoID(t *testing.T) {
	t.Parallel()
	rev := &recordingRevoker{}
	h := newManager(t, cookiesession.Config{Revoker: rev})
	other := newManager(t, cookiesession.Config{}) // another key
	valid := h.seed(map[string]any{"k": "v"})
	for name, value := range map[string]string{
		"unknown key": other.seed(map[string]any{"k": "v"}),
		"tampered":    tamper(t, valid),
		"junk":        "junk",
	} {
		t.Run(name, func(t *testing.T) {
			s := h.load(value)
			if id := s.ID(); id != "" {
				t.Errorf("ID() = %q, want empty", id)
			}
			if err := s.Flush(); err != nil {
				t.Errorf("Flush() error = %v", err)
			}
			h.commit(s, http.StatusOK)
			if len(rev.checks) != 0 || len(rev.revoked) != 0 {
				t.Errorf("revoker got %d checks and %d revocations, want none", len(rev.checks), len(rev.revoked))
			}
			h.wantErrors(cookiesession.ErrInvalid)
		})
	}
}

// Case 25, Django test_session_save_does_not_resurrect_session_logged_out_in_other_context
// and test_session_update_error_redirect: a session revoked by a
// concurrent request is not written back, and the error is reported.
func TestNoResurrection(t *testing.T) {
	t.Parallel()
	t.Run("Commit", func(t *testing.T) {
		h := newManager(t, cookiesession.Config{Revoker: &cookiesession.DenyList{}})
		cookie := h.seed(map[string]any{"user": "alice"})
		busy, logout := h.load(cookie), h.load(cookie)
		if err := busy.Set("cart", 3); err != nil {
			t.Fatal(err)
		}
		if err := logout.Flush(); err != nil {
			t.Fatal(err)
		}
		h.commit(logout, http.StatusOK)

		hdr, err := commitHeader(h.m, busy, http.StatusOK)
		if !errors.Is(err, cookiesession.ErrRevoked) {
			t.Errorf("Commit of a session revoked meanwhile: error = %v, want ErrRevoked", err)
		}
		for _, c := range setCookies(t, hdr) {
			if c.Value != "" {
				t.Errorf("Commit set cookie %q, want no session cookie", c.String())
			}
		}
	})
	t.Run("Handler", func(t *testing.T) {
		h := newManager(t, cookiesession.Config{Revoker: &cookiesession.DenyList{}})
		cookie := h.seed(map[string]any{"user": "alice"})
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			wantString(t, s, "user", "alice")
			// A logout in another tab, while this request runs.
			other := h.load(cookie)
			if err := other.Flush(); err != nil {
				t.Error(err)
			}
			if err := s.Set("cart", 3); err != nil {
				t.Error(err)
			}
		}, cookie)
		for _, c := range setCookies(t, resp.Header) {
			if c.Value != "" {
				t.Errorf("response set cookie %q, want no session cookie", c.String())
			}
		}
		h.wantErrors(cookiesession.ErrRevoked)
	})
}

// Case 26, Django test_test_cookie, in Go: crumb has no test-cookie
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

// Case 27, Django test_is_empty: a session built with no cookie is empty,
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
