package cookiesession_test

// Django parity: bad cookies and keys, ported from Django's session and
// signing tests; each case names the Django test it ports.

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// tamperings returns the mutations of case 37 applied to value, by name:
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

// Case 37, Django test_unsign_detects_tampering, test_decode_detects_tampering
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
			t.Errorf("%s: OnError got %v, want exactly one ErrInvalid", name, errs)
		}
	}
}

// payloadMode encodes test payloads the way crumb does.
var payloadMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := payloadMode.Marshal(v)
	if err != nil {
		t.Fatalf("cbor.Marshal(%#v) error = %v", v, err)
	}
	return b
}

// Case 38, Django test_decode_serializer_exception and
// test_unpickling_exception: an authentic envelope whose payload does not
// decode gives an empty session, no error to the handler, and one
// ErrInvalid report for a bad payload.
func TestUndecodablePayload(t *testing.T) {
	t.Parallel()
	h := newManager(t, cookiesession.Config{})
	now := h.now().UnixNano()
	hour := int64(time.Hour)
	id := bytes.Repeat([]byte{0x5a}, 16)
	fields := func(edit func(map[int]any)) []byte {
		m := map[int]any{1: id, 2: now, 3: now, 4: now + hour, 7: map[string]any{"foo": "bar"}}
		if edit != nil {
			edit(m)
		}
		return mustCBOR(t, m)
	}

	// The control: a well-formed payload sealed this way opens.
	good := h.load(h.sealRaw(fields(nil)))
	wantString(t, good, "foo", "bar")
	h.wantErrors()

	base := fields(nil) // a map of 5 pairs: first byte 0xa5
	dup := append([]byte{0xa6}, base[1:]...)
	dup = append(append(dup, mustCBOR(t, 1)...), mustCBOR(t, id)...)
	indef := append(append([]byte{0xbf}, base[1:]...), 0xff)

	for name, pt := range map[string][]byte{
		"empty":             {},
		"not CBOR":          []byte("{\"foo\":\"bar\"}"),
		"truncated":         base[:len(base)-1],
		"trailing byte":     append(bytes.Clone(base), 0x00),
		"array":             mustCBOR(t, []any{id, now, now, now + hour}),
		"text keys":         mustCBOR(t, map[string]any{"1": id, "2": now, "3": now, "4": now + hour}),
		"duplicate key":     dup,
		"indefinite length": indef,
		"unknown field":     fields(func(m map[int]any) { m[99] = 1 }),
		"short ID":          fields(func(m map[int]any) { m[1] = id[:8] }),
		"text ID":           fields(func(m map[int]any) { m[1] = "0123456789abcdef" }),
		"no ID":             fields(func(m map[int]any) { delete(m, 1) }),
		"issued after save": fields(func(m map[int]any) { m[2] = now + 1 }),
		"saved after end":   fields(func(m map[int]any) { m[3] = now + 2*hour }),
		"saved at the end":  fields(func(m map[int]any) { m[3], m[4] = now+hour, now+hour }),
		"negative time":     fields(func(m map[int]any) { m[2] = -1 }),
		"bad expiry kind":   fields(func(m map[int]any) { m[5] = []any{9, 0} }),
		"data not a map":    fields(func(m map[int]any) { m[7] = []any{"foo", "bar"} }),
		"tagged value":      fields(func(m map[int]any) { m[7] = map[string]any{"t": cbor.Tag{Number: 1, Content: now}} }),
		"too deep":          fields(func(m map[int]any) { m[7] = map[string]any{"d": [][][][][][][]int{{{{{{{1}}}}}}}} }),
	} {
		s := h.load(h.sealRaw(pt))
		got, ok, err := cookiesession.Get[string](s, "foo")
		if ok || err != nil {
			t.Errorf("%s: Get(foo) = %q, %v, %v, want \"\", false, nil", name, got, ok, err)
		}
		if n, id := s.Len(), s.ID(); n != 0 || id != "" {
			t.Errorf("%s: Len(), ID() = %d, %q, want 0, \"\"", name, n, id)
		}
		errs := h.errs.take()
		if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
			t.Errorf("%s: OnError got %v, want exactly one ErrInvalid", name, errs)
			continue
		}
		if r := crypto.ReasonOf(errs[0]); r != crypto.ReasonPayload {
			t.Errorf("%s: reason %v, want %v (the envelope is authentic)", name, r, crypto.ReasonPayload)
		}
	}
}

// Case 39, Django test_decode_failure_logged_to_security: the cookies of
// cases 34, 37 and 38 are each reported exactly once, as typed errors:
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
			t.Errorf("%s: OnError got %v, want exactly one error matching %v and not %v", tc.name, errs, tc.want, tc.not)
		}
	}
	// The valid cookie, still within its deadline, reports nothing.
	h.serve(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		wantString(t, s, "foo", "bar")
	}, valid)
	h.wantErrors()
}

// Case 40, Django test_signature_with_salt and test_can_use_salt: a value
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

// Case 41, Django test_verify_with_non_default_key and
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

// Case 42, Django test_sign_unsign_multiple_keys: with verify-only keys
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

// Case 43, Django test_sign_unsign_ignore_secret_key_fallbacks: a cookie
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
		t.Errorf("OnError got %v, want exactly one ErrInvalid (unknown key)", errs)
	}
}
