package cookiesession_test

// Tests of load.go: Load and how a cookie is opened (parsing the request's
// cookies, lazy opening, rejections and their reasons, key rotation seen
// from a request), and of the reporting in errors.go: how rejections and
// failures are logged. Cases
// ported from Django name the Django test they come from.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/testhook"
	"github.com/crumbhq/crumb/rotation"
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

// vanishingSource has a keyring until it is told to lose it.
type vanishingSource struct {
	ring *rotation.Keyring
	gone atomic.Bool
}

// TestLoadKeyringLost checks that a Source that stops returning a keyring
// after New costs errors, not panics: cookies do not open and are not
// deleted (they are valid with the keys this instance lost), saves fail
// with ErrConfig, both are reported at Error level, and the request goes on.
func TestLoadKeyringLost(t *testing.T) {
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

// teeHandler sends each record to both handlers.
type teeHandler [2]slog.Handler

// TamperedAndRead, derived from Django's behaviour: a tampered cookie read by the view gives
// empty data and no error, and the response deletes it with Vary: Cookie
// (Django re-issues a signed empty session instead).
func TestTamperedAndRead(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	cookie := tamper(t, h.seed(map[string]any{"foo": "bar"}))
	var got string
	resp := h.serve(readFoo(t, &got), cookie)
	if got != "" {
		t.Errorf("view read foo = %q, want nothing", got)
	}
	h.wantDeletion(onlyCookie(t, resp.Header))
	wantVary(t, resp.Header, true)
	h.wantErrors(cookiesession.ErrInvalid)
}

// TamperedUntouched, derived from Django's behaviour: a plausible cookie the view ignores is
// never opened, and the response says nothing about it.
func TestTamperedUntouched(t *testing.T) {
	t.Parallel()
	rev := &recordingRevoker{}
	h := newManager(t, cookiesession.Config{Revoker: rev})
	valid := h.seed(map[string]any{"foo": "bar"})
	for _, cookie := range []string{tamper(t, valid), valid} {
		resp := h.serve(ignore, cookie)
		noCookie(t, resp.Header)
		wantVary(t, resp.Header, false)
		if got := resp.Header.Values("Cache-Control"); len(got) != 0 {
			t.Errorf("Cache-Control = %q, want none", got)
		}
	}
	// Nothing was opened: no rejection, and no revocation check of the
	// valid cookie.
	h.wantErrors()
	if len(rev.checks) != 0 {
		t.Errorf("revoker checked %d sessions, want 0: the cookie must not be opened", len(rev.checks))
	}
}

// ShortJunkUntouched, derived from Django's behaviour: a value that cannot be a crumb cookie is
// deleted, with Vary: Cookie, even when the view ignores the session.
func TestShortJunkUntouched(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	for _, cookie := range []string{"", "abc", "1234567", "not-a-crumb-cookie-but-long-enough-to-look-like-one!", "e30:1r31eq:SdineUKTaqcH7GYxZhCBcXlIJSFE3CZHPWjQqSNkNwk"} {
		resp := h.serve(ignore, cookie)
		h.wantDeletion(onlyCookie(t, resp.Header))
		wantVary(t, resp.Header, true)
		h.wantErrors(cookiesession.ErrInvalid)
	}
}

// RotatedKey, derived from Django's behaviour: a cookie under a verify-only key opens, and the
// response re-seals it under the primary with its times unchanged; once
// that key is removed, old copies open to an empty session as in TestTamperedAndRead,
// but the response leaves them alone: another instance may still hold the
// key (crumb deletes only cookies that are dead everywhere).
func TestRotatedKey(t *testing.T) {
	t.Parallel()
	oldKey, newKey_ := newKey(t), newKey(t)
	keys := rotation.NewHolder(newRing(t, oldKey))
	h := newManager(t, cookiesession.Config{Keys: keys})
	old := h.seed(map[string]any{"foo": "bar"})
	before := h.load(old).Info()

	h.clock.Advance(time.Hour)
	keys.Store(newRing(t, newKey_, oldKey))
	var got string
	resp := h.serve(readFoo(t, &got), old)
	if got != "bar" {
		t.Errorf("under a verify-only key: view read foo = %q, want bar", got)
	}
	c := onlyCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
	hdr := keyIDOf(c.Value)
	if hdr != newKey_.ID() {
		t.Fatalf("re-sealed cookie key ID = %v, %v, want the primary %v", hdr, nil, newKey_.ID())
	}
	if want := int((sca - time.Hour) / time.Second); c.MaxAge != want {
		t.Errorf("re-sealed Max-Age = %d, want the remaining %d", c.MaxAge, want)
	}
	if want := before.Expires; !c.Expires.Equal(want) {
		t.Errorf("re-sealed Expires = %v, want the original deadline %v", c.Expires, want)
	}
	after := h.load(c.Value).Info()
	if before.KeyID != oldKey.ID() || after.KeyID != newKey_.ID() {
		t.Errorf("Info.KeyID before and after the re-seal = %v, %v; want %v, %v", before.KeyID, after.KeyID, oldKey.ID(), newKey_.ID())
	}
	after.KeyID = before.KeyID
	if after != before {
		t.Errorf("re-sealed session Info = %+v, want the original %+v", after, before)
	}

	keys.Store(newRing(t, newKey_))
	got = ""
	resp = h.serve(readFoo(t, &got), old)
	if got != "" {
		t.Errorf("after removing the old key: view read foo = %q, want nothing", got)
	}
	noCookie(t, resp.Header)
	wantVary(t, resp.Header, true)
	h.wantErrors(cookiesession.ErrInvalid)
	wantString(t, h.load(c.Value), "foo", "bar") // the re-sealed copy lives on
}

// tamperings returns the mutations of TestTampering applied to value, by
// name:
// upper-cased, suffixed, first character replaced, a character removed,
// last two characters replaced by "$$", and every byte of the decoded value
// flipped, wholly and in its lowest bit.
func tamperings(t *testing.T, value string) map[string]string {
	t.Helper()
	other := func(c byte) string {
		if c == 'B' {
			return "C"
		}
		return "B"
	}
	out := map[string]string{
		"upper-cased":             strings.ToUpper(value),
		"suffixed a":              value + "a",
		"first char replaced":     other(value[0]) + value[1:],
		"first char removed":      value[1:],
		"middle char removed":     value[:len(value)/2] + value[len(value)/2+1:],
		"last char removed":       value[:len(value)-1],
		"last 2 chars are $$":     value[:len(value)-2] + "$$",
		"last char replaced":      value[:len(value)-1] + other(value[len(value)-1]),
		"empty":                   "",
		"doubled":                 value + value,
		"base64 padding appended": value + "==",
	}
	raw, err := decodeText(value)
	if err != nil {
		t.Fatalf("decodeText(%q) error = %v", value, err)
	}
	for i := range raw {
		for _, mask := range []byte{0xff, 0x01} {
			b := bytes.Clone(raw)
			b[i] ^= mask
			out[fmt.Sprintf("byte %d ^ %#02x", i, mask)] = format.Encode(b)
		}
	}
	for name, v := range out {
		if v == value {
			t.Fatalf("mutation %q left the cookie unchanged", name)
		}
	}
	return out
}

// Django test_unsign_detects_tampering, test_decode_detects_tampering
// and test_detects_tampering: every mutation of a valid cookie gives an
// empty session, no error to the handler, and one ErrInvalid report.
func TestTampering(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	value := h.seed(map[string]any{"foo": "bar"})
	wantString(t, h.load(value), "foo", "bar") // the original opens
	h.wantErrors()

	for name, v := range tamperings(t, value) {
		s := h.load(v)
		got, ok, err := cookiesession.Get[string](s, "foo")
		if ok || err != nil {
			t.Errorf("%s: Get(foo) = %q, %v, %v, want \"\", false, nil", name, got, ok, err)
		}
		if n, id := s.Len(), s.ID(); n != 0 || id != "" {
			t.Errorf("%s: Len(), ID() = %d, %q, want 0, \"\"", name, n, id)
		}
		if s.Modified() {
			t.Errorf("%s: Modified() = true, want false: a bad cookie gives a fresh session", name)
		}
		if errs := h.errs.take(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
			t.Errorf("%s: logged %v, want exactly one ErrInvalid", name, errs)
		}
	}
}

// Django test_decode_failure_logged_to_security: the cookies of
// TestActualExpiry, TestTampering and TestUndecodablePayload are each
// reported exactly once, as typed errors:
// ErrExpired for the expired one, ErrInvalid for the others (Django's
// cookie engine logs nothing). Here through Handler.
func TestFailureObservable(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	expiring := h.load()
	if err := expiring.Set("foo", "bar"); err != nil {
		t.Fatal(err)
	}
	expiring.SetExpiry(cookiesession.ExpiresIn(10 * time.Second))
	expired := h.save(expiring)
	valid := h.seed(map[string]any{"foo": "bar"})
	h.clock.Advance(20 * time.Second) // expired's deadline is 10 s in the past

	for _, tc := range []struct {
		name, value string
		want, not   error
	}{
		{"expired (34)", expired, cookiesession.ErrExpired, cookiesession.ErrInvalid},
		{"tampered (37)", tamper(t, valid), cookiesession.ErrInvalid, cookiesession.ErrExpired},
		{"truncated (37)", valid[:len(valid)-2] + "$$", cookiesession.ErrInvalid, cookiesession.ErrExpired},
		{"undecodable (38)", h.sealRaw([]byte("not a payload")), cookiesession.ErrInvalid, cookiesession.ErrExpired},
	} {
		resp := h.serve(func(w http.ResponseWriter, r *http.Request) {
			s, _ := cookiesession.FromContext(r.Context())
			wantMissing(t, s, "foo")
		}, tc.value)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", tc.name, resp.StatusCode)
		}
		errs := h.errs.take()
		if len(errs) != 1 || !errors.Is(errs[0], tc.want) || errors.Is(errs[0], tc.not) {
			t.Errorf("%s: logged %v, want exactly one error matching %v and not %v", tc.name, errs, tc.want, tc.not)
		}
	}
	// The valid cookie, still within its deadline, reports nothing.
	h.serve(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		wantString(t, s, "foo", "bar")
	}, valid)
	h.wantErrors()
}

// Django test_signature_with_salt and test_can_use_salt: a value
// sealed for another use of the keys gives an empty session. Django salts
// the signature per use; crumb binds the cookie name and its own label as
// additional data, and keeps applications apart with keys derived for each
// (crypto.Key.Derive): another application's cookie names a key this one
// does not hold.
func TestPurposeBinding(t *testing.T) {
	t.Parallel()
	master := newKey(t)
	derive := func(purpose string) *rotation.Keyring {
		k, err := master.Derive(purpose)
		if err != nil {
			t.Fatal(err)
		}
		return newRing(t, k)
	}
	ring := derive("app-a")
	clock := newFakeClock()
	h := newManager(t, cookiesession.Config{Keys: ring, Clock: clock.Now})
	sealWith := func(fields ...string) string {
		good := mustCBOR(t, map[int]any{
			1: bytes.Repeat([]byte{7}, 16), 2: t0.UnixNano(), 3: t0.UnixNano(), 4: t0.Add(time.Minute).UnixNano(),
			7: map[string]any{"foo": "bar"},
		})
		return sealAD(t, ring, format.AdditionalData(fields...), good)
	}
	// The control: the right additional data opens.
	wantString(t, h.load(sealWith("crumb/v1/cookiesession", h.m.Name())), "foo", "bar")
	h.wantErrors()

	otherApp := newManager(t, cookiesession.Config{Keys: derive("app-b"), Clock: clock.Now})
	otherName := newManager(t, cookiesession.Config{Keys: ring, Clock: clock.Now, Name: "othersession"})
	for _, tc := range []struct {
		name   string
		value  string
		reason crypto.Reason
	}{
		{"other application", otherApp.seed(map[string]any{"foo": "bar"}), crypto.ReasonUnknownKey},
		{"other cookie name", otherName.seed(map[string]any{"foo": "bar"}), crypto.ReasonUnauthentic},
		{"other label", sealWith("crumb/v1/other", h.m.Name()), crypto.ReasonUnauthentic},
		{"fields run together", sealWith("crumb/v1/cookiesession" + h.m.Name()), crypto.ReasonUnauthentic},
		{"an extra field", sealWith("crumb/v1/cookiesession", h.m.Name(), ""), crypto.ReasonUnauthentic},
	} {
		s := h.load(tc.value)
		wantMissing(t, s, "foo")
		wantEmpty(t, s)
		errs := h.errs.take()
		if len(errs) != 1 || crypto.ReasonOf(errs[0]) != tc.reason {
			t.Errorf("%s: logged %v, want exactly one ErrInvalid (%v)", tc.name, errs, tc.reason)
		}
	}
}

// Django test_verify_with_non_default_key and
// test_default_keys_verification: a cookie sealed with "secret" opens when
// the primary is "newsecret" and the verify-only keys are "othersecret" and
// "secret".
func TestFallbackKeyOpens(t *testing.T) {
	t.Parallel()
	secret, newsecret, othersecret := newKey(t), newKey(t), newKey(t)
	keys := rotation.NewHolder(newRing(t, secret))
	h := newManager(t, cookiesession.Config{Keys: keys})
	cookie := h.seed(map[string]any{"foo": "bar"})

	keys.Store(newRing(t, newsecret, othersecret, secret))
	wantString(t, h.load(cookie), "foo", "bar")
	h.wantErrors()
}

// Django test_sign_unsign_multiple_keys: with verify-only keys
// configured, a cookie sealed under the primary opens, and needs no
// re-seal.
func TestPrimaryWithFallbacks(t *testing.T) {
	t.Parallel()
	primary := newKey(t)
	h := newManager(t, cookiesession.Config{Keys: newRing(t, primary, newKey(t), newKey(t))})
	cookie := h.seed(map[string]any{"foo": "bar"})
	hdr := keyIDOf(cookie)
	if hdr != primary.ID() {
		t.Fatalf("cookie key ID = %v, %v, want the primary %v", hdr, nil, primary.ID())
	}
	s := h.load(cookie)
	wantString(t, s, "foo", "bar")
	noCookie(t, h.commit(s, http.StatusOK))
	h.wantErrors()
}

// Django test_sign_unsign_ignore_secret_key_fallbacks: a cookie
// sealed with a key that is no longer configured gives an empty session.
func TestRemovedKey(t *testing.T) {
	t.Parallel()
	oldsecret, secret := newKey(t), newKey(t)
	keys := rotation.NewHolder(newRing(t, oldsecret))
	h := newManager(t, cookiesession.Config{Keys: keys})
	cookie := h.seed(map[string]any{"foo": "bar"})

	keys.Store(newRing(t, secret, newKey(t)))
	s := h.load(cookie)
	wantMissing(t, s, "foo")
	wantEmpty(t, s)
	errs := h.errs.take()
	if len(errs) != 1 || crypto.ReasonOf(errs[0]) != crypto.ReasonUnknownKey {
		t.Errorf("logged %v, want exactly one ErrInvalid (unknown key)", errs)
	}
}

// Django test_invalid_key: the junk cookie "1" gives a session
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

// Django test_session_key_empty_string_invalid,
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

// recordingRevoker accepts every session and records what it is told.
type recordingRevoker struct {
	checks  []cookiesession.Info
	revoked []cookiesession.Info
	until   []time.Time
}

// Django test_session_load_does_not_create_record: opening an
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

// TestLoadDuplicateCookies pins the rule for several cookies of the session's
// name: the first of at most four candidates, in header order, that opens
// wins; the others are reported; a fifth and later are never looked at.
func TestLoadDuplicateCookies(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	other := e.saveWith(setter(t, "n", 2))
	foreign := foreignCookie(t, e)
	e.errs.take()

	t.Run("first that opens wins", func(t *testing.T) {
		s := e.load("junk", foreign, good, other)
		if n, ok := getInt(t, s, "n"); !ok || n != 1 {
			t.Errorf("n = %d, %v; want 1 from the third candidate", n, ok)
		}
		errs := e.errs.take()
		if len(errs) != 2 || crypto.ReasonOf(errs[0]) != crypto.ReasonMalformed || crypto.ReasonOf(errs[1]) != crypto.ReasonUnauthentic {
			t.Errorf("reported %v, want a malformed and an unauthentic candidate", errs)
		}
		if c := e.commitOne(s); c != nil {
			t.Errorf("unmodified session sent %v", c)
		}
	})
	t.Run("order decides", func(t *testing.T) {
		s := e.load(other, good)
		if n, _ := getInt(t, s, "n"); n != 2 {
			t.Errorf("n = %d, want 2 from the first candidate", n)
		}
	})
	t.Run("fifth is ignored", func(t *testing.T) {
		before := testhook.Opens(e.key)
		s := e.load(foreign, foreign, foreign, foreign, good)
		if s.Len() != 0 {
			t.Errorf("a valid cookie in fifth position opened a session")
		}
		if d := testhook.Opens(e.key) - before; d != 4 {
			t.Errorf("AEAD opens = %d, want 4", d)
		}
		if errs := e.errs.take(); len(errs) != 4 {
			t.Errorf("reported %d errors, want 4", len(errs))
		}
		// The request carried the session cookie, which did not give a
		// session: the response deletes it.
		if c := e.commitOne(s); c == nil || c.Value != "" {
			t.Errorf("commit = %v, want the deletion cookie", c)
		}
	})
}

func TestLoadSkippedAndVariantCookies(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	tests := []struct {
		name, header string
	}{
		{"backslash", e.m.Name() + "=" + good + `\`},
		{"inner quote", e.m.Name() + "=" + good[:10] + `"` + good[10:]},
		{"non-ASCII", e.m.Name() + "=" + good + "é"},
		{"DEL", e.m.Name() + "=" + good + "\x7f"},
		{"__HOST- variant", "__HOST-sessionid=" + good},
		{"__host- variant", "__host-sessionid=" + good},
		{"unprefixed name", "sessionid=" + good},
		{"name with a trailing space inside", e.m.Name() + "x=" + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.m.Load(context.Background(), tt.header)
			if s.Len() != 0 || !s.IsEmpty() {
				t.Errorf("Load(%q) gave a session", tt.header)
			}
			if errs := e.errs.take(); len(errs) != 0 {
				t.Errorf("Load(%q) reported %v; net/http skips the value, so there is no cookie", tt.header, errs)
			}
			// No cookie was carried, so nothing is deleted either.
			if c := e.commitOne(s); c != nil {
				t.Errorf("commit sent %v", c)
			}
		})
	}

	// net/http strips the quotes of a quoted value: the session opens.
	s := e.m.Load(context.Background(), e.m.Name()+`="`+good+`"`)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("quoted cookie: n = %d, %v; want 1", n, ok)
	}
}

func TestLoadManyCookies(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	foreign := foreignCookie(t, e)
	junk := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "j%d=x; ", i)
		}
		return b.String()
	}

	// Over net/http's limit of 3000 cookies, the request has no cookies at
	// all (CVE-2025-58186): no session, nothing reported, nothing opened.
	before := testhook.Opens(e.key)
	s := e.m.Load(context.Background(), junk(3000)+cookieHeader(e.m, good))
	if s.Len() != 0 {
		t.Errorf("3001 cookies: got a session")
	}
	if c := e.commitOne(s); c != nil {
		t.Errorf("3001 cookies: commit sent %v", c)
	}
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("3001 cookies: %d AEAD opens, want 0", d)
	}
	// Just under the limit, the session is found among the junk.
	s = e.m.Load(context.Background(), junk(2990)+cookieHeader(e.m, good))
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("2991 cookies: n = %d, %v; want 1", n, ok)
	}

	// net/http counts a cookie for every ";", empty parts included: a
	// short header of bare semicolons is over the limit too, and so is the
	// same spread over several header lines.
	for _, headers := range [][]string{
		{cookieHeader(e.m, good) + strings.Repeat(";", 3000)},
		{cookieHeader(e.m, good), strings.Repeat(";", 1500), strings.Repeat(";", 1499)},
	} {
		r := &http.Request{Header: http.Header{"Cookie": headers}}
		if n := len(r.Cookies()); n != 0 {
			t.Fatalf("net/http read %d cookies from 3001 parts; the test expects none", n)
		}
		if s := e.m.Load(context.Background(), headers...); s.Len() != 0 {
			t.Errorf("%d header lines with 3001 parts: got a session, net/http sees no cookie", len(headers))
		}
	}

	// 100 copies of a cookie with the right key ID: four opens at most.
	dup := strings.TrimSuffix(strings.Repeat(cookieHeader(e.m, foreign)+"; ", 100), "; ")
	before = testhook.Opens(e.key)
	s = e.m.Load(context.Background(), dup)
	if s.Len() != 0 {
		t.Errorf("100 duplicates: got a session")
	}
	if d := testhook.Opens(e.key) - before; d > 4 {
		t.Errorf("100 duplicate session cookies cost %d AEAD opens, want at most 4", d)
	}
	if errs := e.errs.take(); len(errs) != 4 {
		t.Errorf("100 duplicates: %d reports, want 4", len(errs))
	}
	// 100 copies of a valid cookie: one open.
	before = testhook.Opens(e.key)
	s = e.m.Load(context.Background(), strings.Repeat(cookieHeader(e.m, good)+"; ", 100))
	if n, _ := getInt(t, s, "n"); n != 1 || testhook.Opens(e.key)-before != 1 {
		t.Errorf("100 valid duplicates: n = %d after %d opens, want 1 after 1", n, testhook.Opens(e.key)-before)
	}
}

func TestLoadHeaderForms(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	tests := []struct {
		name    string
		headers []string
	}{
		{"one header", []string{"a=1; " + cookieHeader(e.m, good) + "; b=2"}},
		{"HTTP/2 split headers", []string{"a=1; b=2", cookieHeader(e.m, good) + "; c=3"}},
		{"API Gateway cookies list", []string{"a=1", "b=2", cookieHeader(e.m, good), "c=3"}},
	}
	for _, tt := range tests {
		s := e.m.Load(context.Background(), tt.headers...)
		if n, ok := getInt(t, s, "n"); !ok || n != 1 {
			t.Errorf("%s: n = %d, %v; want 1", tt.name, n, ok)
		}
	}
}

func TestLoadLazyOpen(t *testing.T) {
	t.Parallel()
	e := newHarness(t, nil)
	good := e.saveWith(setter(t, "n", 1))
	serve := func(cookie string, h http.HandlerFunc) *http.Response {
		r, _ := http.NewRequest("GET", "https://example.com/", nil)
		r.Header.Set("Cookie", cookieHeader(e.m, cookie))
		w := httptest.NewRecorder()
		e.m.Handler(h).ServeHTTP(w, r)
		return w.Result()
	}

	before := testhook.Opens(e.key)
	resp := serve(good, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("untouched session: %d AEAD opens, want 0", d)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Vary") != "" || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("untouched session: headers %v, want no Set-Cookie, Vary or Cache-Control", resp.Header)
	}

	before = testhook.Opens(e.key)
	resp = serve(good, func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		getInt(t, s, "n")
		getInt(t, s, "n")
		_ = s.Keys()
	})
	if d := testhook.Opens(e.key) - before; d != 1 {
		t.Errorf("touched session: %d AEAD opens, want exactly 1", d)
	}
	if resp.Header.Get("Vary") != "Cookie" || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("read-only session: headers %v, want Vary: Cookie and no Set-Cookie", resp.Header)
	}

	// A cookie sealed under a key the ring does not hold costs no open.
	stranger := newHarness(t, nil)
	alien := stranger.saveWith(setter(t, "n", 1))
	e.errs.take()
	before = testhook.Opens(e.key)
	serve(alien, func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		if s.Len() != 0 {
			t.Errorf("a cookie under an unknown key opened")
		}
	})
	if d := testhook.Opens(e.key) - before; d != 0 {
		t.Errorf("unknown key ID: %d AEAD opens, want 0", d)
	}
	if errs := e.errs.take(); len(errs) != 1 || crypto.ReasonOf(errs[0]) != crypto.ReasonUnknownKey {
		t.Errorf("unknown key ID reported %v, want one ReasonUnknownKey", errs)
	}
}

func TestLoadAllocsGarbageCookie(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process.
	e := newHarness(t, func(c *cookiesession.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	garbage := cookieHeader(e.m, strings.Repeat("A", 4096))
	plausibleGarbage := cookieHeader(e.m, plausible4096(t, e))
	for name, header := range map[string]string{"alphabet garbage": garbage, "plausible garbage": plausibleGarbage} {
		before := testhook.Opens(e.key)
		allocs := testing.AllocsPerRun(100, func() {
			s := e.m.Load(context.Background(), header)
			_ = s.Len()
			if _, err := commitHeader(e.m, s, http.StatusOK); err != nil {
				t.Fatal(err)
			}
		})
		// Load builds a request and parses one cookie; Commit renders one
		// deletion cookie. Nothing scales with the cookie's size.
		const ceiling = 20
		if allocs > ceiling {
			t.Errorf("%s: Load+Commit allocates %.0f times, want at most %d", name, allocs, ceiling)
		}
		if d := testhook.Opens(e.key) - before; d > 101 {
			t.Errorf("%s: %d AEAD opens over 101 runs", name, d)
		}
	}
}

// plausible4096 returns a 4096-character value with a valid header for e's key:
// it reaches the key lookup and the length checks, but is too long for a
// single cookie.
func plausible4096(t *testing.T, e *harness) string {
	t.Helper()
	v := e.saveWith(setter(t, "n", 1))
	return v[:format.HeaderTextLen] + strings.Repeat("A", 4096-format.HeaderTextLen)
}

func TestLoadRotationReseal(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: t0}
	errs := new(errorLog)
	old, primary := newKey(t), newKey(t)
	manager := func(ring *rotation.Keyring) *cookiesession.Manager {
		m, err := cookiesession.New(cookiesession.Config{Keys: ring, Clock: clock.Now, Logger: slog.New(errs), Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	mOld := manager(newRing(t, old))
	v := saveWith(t, mOld, setter(t, "n", 1))
	info := loadWith(mOld, v).Info()

	clock.Advance(10 * time.Minute)
	mNew := manager(newRing(t, primary, old))
	s := loadWith(mNew, v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Fatalf("cookie under a decrypt-only key: n = %d, %v", n, ok)
	}
	c := commitOne(t, mNew, s)
	if c == nil {
		t.Fatal("a session opened with a decrypt-only key was not re-sealed")
	}
	h := keyIDOf(c.Value)
	if h != primary.ID() {
		t.Fatalf("re-sealed under %v (%v), want the primary %v", h, nil, primary.ID())
	}
	if c.MaxAge != 50*60 {
		t.Errorf("re-sealed Max-Age = %d, want the 3000 s left", c.MaxAge)
	}
	got := loadWith(mNew, c.Value).Info()
	if info.KeyID != old.ID() || got.KeyID != primary.ID() {
		t.Errorf("Info.KeyID before and after the re-seal = %v, %v; want %v, %v", info.KeyID, got.KeyID, old.ID(), primary.ID())
	}
	if got.KeyID = info.KeyID; got != info {
		t.Errorf("re-sealed session info = %+v, want the original %+v", got, info)
	}
	// Sealed under the primary now: no further re-seal.
	again := loadWith(mNew, c.Value)
	getInt(t, again, "n")
	if c := commitOne(t, mNew, again); c != nil {
		t.Errorf("a session under the primary was re-sealed: %v", c)
	}

	// Whatever order a ring lists its keys in, the primary seals.
	flipped, err := rotation.FromEntries([]rotation.Entry{{Key: old, State: rotation.DecryptOnly}, {Key: primary, State: rotation.Primary}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := saveWith(t, manager(flipped), setter(t, "n", 1))
	if id := keyIDOf(fresh); id != primary.ID() {
		t.Errorf("sealed under %v, want the primary", keyIDOf(fresh))
	}

	// The old key removed: the old cookie gives an empty session.
	errs.take()
	mGone := manager(newRing(t, primary))
	gone := loadWith(mGone, v)
	if gone.Len() != 0 {
		t.Errorf("a cookie under a removed key opened")
	}
	if got := errs.take(); len(got) != 1 || crypto.ReasonOf(got[0]) != crypto.ReasonUnknownKey {
		t.Errorf("removed key reported %v, want ReasonUnknownKey", got)
	}
}

func TestLoadRotationHolder(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: t0}
	k1, k2 := newKey(t), newKey(t)
	holder := rotation.NewHolder(newRing(t, k1))
	m, err := cookiesession.New(cookiesession.Config{Keys: holder, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v := saveWith(t, m, setter(t, "n", 1))

	// A request reads the ring once, at the session's first use: a swap
	// after that does not affect it, not even when it seals.
	s := loadWith(m, v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("before the swap: n = %d, %v; want 1", n, ok)
	}
	holder.Store(newRing(t, k2))
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Errorf("swap during the request: n = %d, %v; want the request's ring to open it", n, ok)
	}
	s.MarkModified()
	if c := commitOne(t, m, s); c == nil || keyIDOf(c.Value) != k1.ID() {
		t.Errorf("swap during the request: sealed %v, want a cookie under the request's key %v", c, k1.ID())
	}
	// The next request sees the new ring, which does not hold k1.
	if s := loadWith(m, v); s.Len() != 0 {
		t.Errorf("the swap did not apply to the next request")
	}
	// With k1 back as decrypt-only, the next request re-seals under k2.
	holder.Store(newRing(t, k2, k1))
	s = loadWith(m, v)
	getInt(t, s, "n")
	c := commitOne(t, m, s)
	if id := keyIDOf(c.Value); id != k2.ID() {
		t.Errorf("re-sealed under %v, want %v", keyIDOf(c.Value), k2.ID())
	}
}

func TestLoadRotationSchedule(t *testing.T) {
	t.Parallel()
	master := newKey(t)
	sched, err := rotation.NewSchedule(master, rotation.ScheduleConfig{Period: time.Hour, Previous: 1})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0.Add(59 * time.Minute)}
	m, err := cookiesession.New(cookiesession.Config{Keys: sched, Clock: clock.Now, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	period := t0.Unix() / 3600
	v := saveWith(t, m, setter(t, "n", 1))
	if id := keyIDOf(v); id != periodKey(t, master, period).ID() {
		t.Fatalf("sealed under %v, want period %d's key", keyIDOf(v), period)
	}

	clock.Advance(2 * time.Minute) // into the next period
	s := loadWith(m, v)
	if n, ok := getInt(t, s, "n"); !ok || n != 1 {
		t.Fatalf("across the boundary: n = %d, %v", n, ok)
	}
	c := commitOne(t, m, s)
	if c == nil {
		t.Fatal("not re-sealed under the new period's key")
	}
	if id := keyIDOf(c.Value); id != periodKey(t, master, period+1).ID() {
		t.Errorf("re-sealed under %v, want period %d's key", keyIDOf(c.Value), period+1)
	}

	clock.Advance(2 * time.Hour) // two periods on: the first key is gone
	if s := loadWith(m, v); s.Len() != 0 {
		t.Errorf("a cookie from two periods back still opens with Previous 1")
	}
}

// periodKey returns the key of period n of a one-hour schedule of
// master, derived as docs/FORMAT.md says.
func periodKey(t *testing.T, master *crypto.Key, n int64) *crypto.Key {
	t.Helper()
	k, err := master.Derive(fmt.Sprintf("rotation/period/3600/%d", n))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLoadLogger checks the level of each kind of report, that invalid
// cookies are logged with their reason, and that no cookie value or key
// material reaches the log.
func TestLoadLogger(t *testing.T) {
	t.Parallel()
	logs := new(logRecorder)
	deny := new(cookiesession.DenyList)
	e := newHarness(t, func(c *cookiesession.Config) {
		c.Logger = slog.New(logs)
		c.Lifetime = time.Hour
		c.Revoker = deny
	})
	good := e.saveWith(setter(t, "n", 1))
	revoked := e.saveWith(setter(t, "n", 1))
	s := e.load(revoked)
	_ = s.Flush()
	e.commitOne(s)
	logs.take()

	text := func(r slog.Record) string {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		return b.String()
	}
	check := func(name string, wantLevel slog.Level, wantReason string, load func()) {
		t.Helper()
		// Rejected cookies are summarised at most once a minute.
		e.clock.Advance(time.Minute)
		load()
		all := logs.take()
		recs := atLeast(all, slog.LevelInfo)
		if len(recs) != 1 {
			t.Fatalf("%s: %d log records at Info or above, want 1", name, len(recs))
		}
		if r := recs[0]; r.Level != wantLevel {
			t.Errorf("%s: level %v, want %v", name, r.Level, wantLevel)
		}
		var lines []string
		for _, r := range all {
			lines = append(lines, text(r))
		}
		line := strings.Join(lines, "\n")
		if wantReason != "" && !strings.Contains(line, "reason="+wantReason) {
			t.Errorf("%s: log %q lacks reason %q", name, line, wantReason)
		}
		for _, secret := range []string{good[format.HeaderTextLen:], revoked[format.HeaderTextLen:], e.key.SecretText()} {
			if strings.Contains(line, secret[:16]) {
				t.Errorf("%s: log %q contains a cookie value or key", name, line)
			}
		}
	}
	check("malformed", slog.LevelWarn, crypto.ReasonMalformed.String(), func() { e.load("junk").Len() })
	check("forged", slog.LevelWarn, crypto.ReasonUnauthentic.String(), func() { e.load(foreignCookie(t, e)).Len() })
	check("revoked", slog.LevelWarn, "revoked", func() { e.load(revoked).Len() })
	check("commit", slog.LevelError, "", func() {
		e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		})
	})
	e.clock.Advance(2 * time.Hour)
	check("expired", slog.LevelWarn, "expired", func() { e.load(good).Len() })
	e.errs.take()
}

// TestLoadLogCanceled: a session not saved because the Revoker could not
// check it after the client went away (its request canceled) is logged at
// Debug only, since no response can carry it; the same failure on a live
// request, or past a deadline (a timeout middleware: the response still
// goes out), is an Error, as is any other failure on a canceled request.
func TestLoadLogCanceled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		tooBig  bool
		want    slog.Level
		message string
	}{
		{name: "live request", ctx: context.WithCancel, want: slog.LevelError},
		{name: "client went away", ctx: canceled, want: slog.LevelDebug},
		{name: "past a deadline", ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithDeadline(ctx, time.Unix(0, 0))
		}, want: slog.LevelError},
		{name: "too large, client went away", ctx: canceled, tooBig: true, want: slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := new(logRecorder)
			rev := new(failingRevoker)
			e := newHarness(t, func(c *cookiesession.Config) { c.Logger = slog.New(logs); c.Revoker = rev })
			cookie := e.saveWith(setter(t, "n", 1))
			ctx, cancel := tc.ctx(t.Context())
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://example.com/", nil)
			req.Header.Set("Cookie", e.header(cookie))
			e.do(req, func(w http.ResponseWriter, r *http.Request) {
				s := sessionOf(t, r)
				s.Len() // opened and checked while the store is up
				if tc.tooBig {
					_ = s.Set("big", strings.Repeat("x", 5000))
					return
				}
				rev.setFailing(true)
				_ = s.Set("n", 2) // the re-check before saving fails
			})
			recs := logs.take()
			if len(recs) != 1 || recs[0].Level != tc.want || !strings.Contains(recs[0].Message, "not saved") {
				t.Fatalf("%d records (%v), want one %v record saying the session was not saved", len(recs), recs, tc.want)
			}
		})
	}
}

// canceled returns a context canceled already: a client that went away.
func canceled(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx, cancel
}

// TestLoadLogRejectionsBounded: anyone can send bad cookies at any rate, so
// rejections are logged one by one at Debug level only, and above it as a
// summary at most once a minute, with the count; failures to save are
// never held back.
func TestLoadLogRejectionsBounded(t *testing.T) {
	t.Parallel()
	logs := new(logRecorder)
	e := newHarness(t, func(c *cookiesession.Config) { c.Logger = slog.New(logs) })
	for range 100 {
		e.load("junk").Len()
	}
	all := logs.take()
	if recs := atLeast(all, slog.LevelInfo); len(recs) != 1 {
		t.Fatalf("100 rejections in a minute: %d records at Info or above, want 1", len(recs))
	}
	if n := len(all) - 1; n != 100 {
		t.Errorf("%d records at Debug, want one per rejection, 100", n)
	}
	e.clock.Advance(time.Minute - time.Nanosecond)
	e.load("junk").Len()
	if recs := atLeast(logs.take(), slog.LevelInfo); len(recs) != 0 {
		t.Errorf("a rejection within the minute logged %d records at Info or above", len(recs))
	}
	e.clock.Advance(time.Nanosecond)
	e.load("junk").Len()
	recs := atLeast(logs.take(), slog.LevelInfo)
	if len(recs) != 1 || recs[0].Level != slog.LevelWarn {
		t.Fatalf("a rejection a minute later: %d records at Info or above, want one Warn", len(recs))
	}
	var count uint64
	recs[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "count" {
			count = a.Value.Uint64()
		}
		return true
	})
	if count != 101 {
		t.Errorf("summary count = %d, want 101 (every rejection since the last summary)", count)
	}
	for range 3 {
		e.serveWith("", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		})
	}
	if recs := logs.take(); len(recs) != 3 || recs[0].Level != slog.LevelError {
		t.Errorf("3 failed saves: %d log records, want 3 at Error", len(recs))
	}
	e.errs.take()
}

// TestLoadDefaultLogger: with no Logger, failures still reach the
// operator, through slog.Default().
func TestLoadDefaultLogger(t *testing.T) {
	// Not parallel: it replaces the process's default logger.
	logs := new(logRecorder)
	prev := slog.Default()
	slog.SetDefault(slog.New(logs))
	t.Cleanup(func() { slog.SetDefault(prev) })

	clock := &fakeClock{now: t0}
	deny := new(cookiesession.DenyList)
	m, err := cookiesession.New(cookiesession.Config{Keys: newRing(t, newKey(t)), Clock: clock.Now, Revoker: deny})
	if err != nil {
		t.Fatal(err)
	}
	v := saveWith(t, m, setter(t, "n", 1))
	serve := func(view http.HandlerFunc) {
		req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
		req.Header.Set("Cookie", cookieHeader(m, v))
		m.Handler(view).ServeHTTP(httptest.NewRecorder(), req)
	}
	for _, tt := range []struct {
		name string
		view http.HandlerFunc
		want error
	}{
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionOf(t, r).Set("big", strings.Repeat("x", 5000))
		}, cookiesession.ErrTooLarge},
		{"late change", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body")
			_ = sessionOf(t, r).Set("late", 1)
		}, cookiesession.ErrLate},
		{"revoked during the request", func(w http.ResponseWriter, r *http.Request) {
			s := sessionOf(t, r)
			_ = s.Set("n", 2)
			other := loadWith(m, v)
			_ = other.Flush() // a logout in another tab
		}, cookiesession.ErrRevoked},
	} {
		serve(tt.view)
		recs := logs.take()
		if len(recs) != 1 || recs[0].Level != slog.LevelError {
			t.Errorf("%s: %d records %v, want one at Error level", tt.name, len(recs), recs)
			continue
		}
		found := false
		recs[0].Attrs(func(a slog.Attr) bool {
			if err, ok := a.Value.Any().(error); ok && errors.Is(err, tt.want) {
				found = true
			}
			return true
		})
		if !found {
			t.Errorf("%s: logged %v, want an error matching %v", tt.name, recs[0], tt.want)
		}
	}
}
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
