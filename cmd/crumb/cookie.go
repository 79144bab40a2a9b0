package main

// The cookie commands: inspect opens a session cookie and prints what it
// holds; seal makes one, for tests.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/internal/inspect"
	"github.com/crumbhq/crumb/internal/jsonnum"
	"github.com/crumbhq/crumb/rotation"
)

// cookieFlags are the flags inspect and seal share: where the keys are,
// and the time.
type cookieFlags struct{ file, env, now string }

func addCookieFlags(fs *flag.FlagSet) *cookieFlags {
	c := new(cookieFlags)
	fs.StringVar(&c.file, "keys", "", "the key file")
	fs.StringVar(&c.env, "keys-env", "CRUMB_KEYS", "the environment variable holding the key list, if -keys is not given")
	fs.StringVar(&c.now, "now", "", "the time, RFC 3339 (default: now)")
	return c
}

// parse parses args, and returns the one argument they must leave, the
// time and the keys.
func (c *cookieFlags) parse(fs *flag.FlagSet, args []string, now func() time.Time) (string, time.Time, *rotation.Keyring, error) {
	arg, err := parse(fs, args)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	t, err := (&policyFlags{now: c.now}).time(now)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	var ring *rotation.Keyring
	if c.file != "" {
		ring, err = readRing(c.file)
	} else {
		ring, err = rotation.FromEnv(c.env)
	}
	return arg, t, ring, err
}

// inspectManager returns a Manager that opens the session cookie called
// name under ring, whatever its age: it takes a lifetime and a clock skew
// of decades, so that an expired cookie still shows what it held.
func inspectManager(ring *rotation.Keyring, name string, now time.Time) (*cookiesession.Manager, error) {
	const year = 365 * 24 * time.Hour
	cfg := cookiesession.Config{
		Keys: ring, Name: name, Lifetime: 100 * year, ClockSkew: 99 * year,
		MaxChunks: format.MaxChunks, MaxHeaderBytes: format.MaxTextLen + 1024,
		Clock: func() time.Time { return now },
	}
	if !strings.HasPrefix(name, "__Host-") && !strings.HasPrefix(name, "__Secure-") {
		cfg.InsecureHTTP = true // the name as is, without a prefix
	}
	return cookiesession.New(cfg)
}

// report is what inspect prints.
type report struct {
	Cookie   string         `json:"cookie"`
	Version  int            `json:"version"`
	Chunks   int            `json:"chunks"`
	KeyID    string         `json:"keyID"`
	KeyState string         `json:"keyState"`
	ID       string         `json:"id"`
	Subject  string         `json:"subject,omitempty"`
	IssuedAt time.Time      `json:"issuedAt"`
	SavedAt  time.Time      `json:"savedAt"`
	Expires  time.Time      `json:"expires"`
	Expired  bool           `json:"expired"`
	Expiry   string         `json:"expiry"`
	Data     map[string]any `json:"data,omitempty"`
	Value    any            `json:"value,omitempty"`
	Flashes  []any          `json:"flashes,omitempty"`
}

// inspectCookie opens the session cookie in arg (a value, or a whole
// Cookie header) and prints what it holds as JSON.
func inspectCookie(args []string, stdout io.Writer, now func() time.Time) error {
	fs := newFlags("inspect")
	flags := addCookieFlags(fs)
	name := fs.String("name", "__Host-sessionid", "the cookie's name, for a bare value")
	arg, t, ring, err := flags.parse(fs, args, now)
	if err != nil {
		return err
	}
	header := arg
	names := []string{*name}
	if strings.Contains(arg, "=") {
		names = sessionNames(arg)
	} else {
		header = *name + "=" + arg
	}
	var errs []string
	for _, n := range names {
		r, err := open(ring, n, header, t)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", n, err))
			continue
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if len(errs) == 0 {
		return errors.New("no cookie in the header looks like a crumb session")
	}
	return errors.New("no session opens: " + strings.Join(errs, "; "))
}

// sessionNames returns the names of the cookies in a Cookie header whose
// values begin like a crumb value, chunks (name.1 to name.9) aside.
func sessionNames(header string) []string {
	var names []string
	for part := range strings.SplitSeq(header, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		if n := len(name); n > 2 && name[n-2] == '.' && name[n-1] >= '1' && name[n-1] <= '9' {
			continue
		}
		if _, ok := format.HeaderOf(strings.Trim(value, `"`)); ok {
			names = append(names, name)
		}
	}
	return names
}

// open opens the session cookie called name in header.
func open(ring *rotation.Keyring, name, header string, now time.Time) (*report, error) {
	m, err := inspectManager(ring, name, now)
	if err != nil {
		return nil, err
	}
	s := m.Load(context.Background(), header)
	if err := s.Err(); err != nil {
		return nil, reason(err)
	}
	info := s.Info()
	if info.ID == "" {
		return nil, errors.New("no session cookie of that name")
	}
	items, err := s.Items()
	if err != nil {
		return nil, err
	}
	value, err := cookiesession.Data[any](s)
	if err != nil {
		return nil, err
	}
	flashes, err := cookiesession.Flashes[any](s) // a copy: nothing is committed
	if err != nil {
		return nil, err
	}
	r := &report{
		Cookie: name, Version: format.Version, KeyID: info.KeyID.String(), ID: info.ID, Subject: info.Subject,
		IssuedAt: info.IssuedAt.UTC(), SavedAt: info.SavedAt.UTC(), Expires: info.Expires.UTC(),
		Expired: !now.Before(info.Expires), Expiry: inspect.ExpiryRule(s),
		Value: jsonable(value),
	}
	for _, e := range ring.Entries() {
		if e.Key.ID() == info.KeyID {
			r.KeyState = e.State.String()
		}
	}
	first, _, _ := strings.Cut(header, ";")
	for part := range strings.SplitSeq(header, ";") {
		if n, v, _ := strings.Cut(strings.TrimSpace(part), "="); n == name {
			first = strings.Trim(v, `"`)
			break
		}
	}
	if h, ok := format.HeaderOf(first); ok {
		r.Chunks = h.Chunks
	}
	if len(items) > 0 {
		r.Data = jsonable(items).(map[string]any)
	}
	for _, f := range flashes {
		r.Flashes = append(r.Flashes, jsonable(f))
	}
	return r, nil
}

// reason says why a cookie did not open, in the words of crumb's error
// classes; the details stay out, as they do from a client.
func reason(err error) error {
	switch {
	case errors.Is(err, cookiesession.ErrExpired):
		return errors.New("expired")
	case errors.Is(err, cookiesession.ErrRevoked):
		return errors.New("revoked")
	case errors.Is(err, crypto.ErrInvalid):
		return fmt.Errorf("invalid (%v)", crypto.ReasonOf(err))
	}
	return err
}

// jsonable turns decoded CBOR into values encoding/json can write: maps
// with keys other than strings get their keys printed.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}

// sealCookie makes a session cookie holding the JSON object in arg and
// prints it as a Cookie header value.
func sealCookie(args []string, stdout io.Writer, now func() time.Time) error {
	fs := newFlags("seal")
	flags := addCookieFlags(fs)
	name := fs.String("name", "sessionid", "the cookie's base name (crumb adds __Host-, as cookiesession.Config.Name does)")
	lifetime := fs.Duration("lifetime", 14*24*time.Hour, "Config.Lifetime")
	subject := fs.String("subject", "", "the session's subject")
	arg, t, ring, err := flags.parse(fs, args, now)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(arg))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil || data == nil || len(data) == 0 || dec.More() {
		return usageError{errors.New("seal: want one JSON object with at least one member")}
	}
	m, err := cookiesession.New(cookiesession.Config{
		Keys: ring, Name: *name, Lifetime: *lifetime,
		MaxChunks: format.MaxChunks, MaxHeaderBytes: format.MaxTextLen + 1024,
		Clock: func() time.Time { return t },
	})
	if err != nil {
		return err
	}
	s := m.Load(context.Background())
	keysInOrder := make([]string, 0, len(data))
	for k := range data {
		keysInOrder = append(keysInOrder, k)
	}
	sort.Strings(keysInOrder)
	for _, k := range keysInOrder {
		if err := s.Set(k, jsonnum.Convert(data[k])); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	if *subject != "" {
		if err := s.SetSubject(*subject); err != nil {
			return err
		}
	}
	s.MarkModified()
	h := http.Header{}
	if err := m.Commit(s, http.StatusOK, h); err != nil {
		return err
	}
	var pairs []string
	for _, line := range h.Values("Set-Cookie") {
		pair, _, _ := strings.Cut(line, ";")
		if !strings.HasSuffix(pair, "=") { // not a deletion
			pairs = append(pairs, pair)
		}
	}
	_, err = fmt.Fprintln(stdout, strings.Join(pairs, "; "))
	return err
}
