package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

const testSource = "keys.txt"

// keyTextPrefix is the public start of every key's text form. Error
// messages may name it as the expected format, so it is not a secret.
const keyTextPrefix = "crumbkey1_"

// leaksKeyText reports whether msg contains any 8-character substring of
// the texts after their public prefix. With withID false, windows that lie
// within the 8-digit key ID are skipped: an ID is public, and an error about
// a duplicate key names it.
func leaksKeyText(msg string, texts []string, withID bool) bool {
	for _, text := range texts {
		rest := strings.TrimPrefix(text, keyTextPrefix)
		first := 0
		if !withID {
			first = 1 // the only window inside the ID is the ID itself
		}
		for i := first; i+8 <= len(rest); i++ {
			if strings.Contains(msg, rest[i:i+8]) {
				return true
			}
		}
	}
	return false
}

// typo returns text with one character of its secret changed: still a
// well-formed key text, but its ID no longer matches.
func typo(text string) string {
	i := len(text) - 20
	c := byte('A')
	if text[i] == 'A' {
		c = 'B'
	}
	return text[:i] + string(c) + text[i+1:]
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 4)
	added0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	added1 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	demoted1 := time.Date(2026, 2, 3, 3, 5, 6, 0, time.UTC) // 04:05:06+01:00
	lines := "# crumb keys for the test service\n" +
		"\n" +
		"  # an indented comment; with a semicolon\n" +
		"decrypt-only " + k[1].SecretText() + " added=2025-12-01T00:00:00Z demoted=2026-02-03T04:05:06+01:00\n" +
		"\t primary\t" + k[0].SecretText() + "   added=2026-01-02T03:04:05Z  \n" +
		"decrypt-only " + k[2].SecretText() + "; decrypt-only " + k[3].SecretText() + ";\n" +
		"   \t \n"
	oneLine := "decrypt-only " + k[1].SecretText() + " added=2025-12-01T00:00:00Z demoted=2026-02-03T04:05:06+01:00;" +
		" primary " + k[0].SecretText() + " added=2026-01-02T03:04:05Z ;;" +
		"decrypt-only " + k[2].SecretText() + ";decrypt-only " + k[3].SecretText()

	for _, tt := range []struct{ name, text string }{
		{"LF", lines},
		{"CRLF", strings.ReplaceAll(lines, "\n", "\r\n")},
		{"no final newline", strings.TrimRight(lines, " \t\n")},
		{"CRLF, no final newline", strings.ReplaceAll(strings.TrimRight(lines, " \t\n"), "\n", "\r\n")},
		{"semicolons", oneLine},
		{"semicolons, CRLF", oneLine + "\r\n"},
		{"byte order mark", "\uFEFF" + lines},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rotation.ParseKeys(testSource, tt.text)
			if err != nil {
				t.Fatalf("ParseKeys = %v", err)
			}
			checkRing(t, r)
			if got := len(r.Entries()); got != 4 {
				t.Fatalf("ring has %d keys, want 4", got)
			}
			if !r.Primary().Equal(k[0]) {
				t.Fatalf("primary is %v, want %v", r.Primary(), k[0])
			}
			want := map[crypto.KeyID]rotation.Entry{
				k[0].ID(): {Key: k[0], State: rotation.Primary, AddedAt: added0},
				k[1].ID(): {Key: k[1], State: rotation.DecryptOnly, AddedAt: added1, DemotedAt: demoted1},
				k[2].ID(): {Key: k[2], State: rotation.DecryptOnly},
				k[3].ID(): {Key: k[3], State: rotation.DecryptOnly},
			}
			for _, e := range r.Entries() {
				w, ok := want[e.Key.ID()]
				if !ok || !entriesEqual([]rotation.Entry{e}, []rotation.Entry{w}) {
					t.Errorf("entry %v = {%v added %v demoted %v}, want {%v added %v demoted %v}",
						e.Key, e.State, e.AddedAt, e.DemotedAt, w.State, w.AddedAt, w.DemotedAt)
				}
			}
			// The parsed keys are the real ones: they open what the
			// originals sealed.
			for i, kk := range k {
				mustOpen(t, r, sealWith(t, kk, "v"), "v", kk, i != 0)
			}
		})
	}
}

// TestParseKeysBadEntries checks that each bad entry gives a *ParseError
// naming the right line and entry, and that no message carries any part of
// a key text.
func TestParseKeysBadEntries(t *testing.T) {
	t.Parallel()
	k := newKeys(t, maxKeys+1)
	kt := make([]string, len(k))
	for i := range k {
		kt[i] = k[i].SecretText()
	}
	noID := keyTextPrefix + "zzzzzzzz" + kt[1][len(keyTextPrefix)+8:]
	nonCanonical := kt[1][:len(kt[1])-1] + "B" // the last character's two spare bits must be zero
	var perLine, perEntry []string
	for i, text := range kt {
		state := "decrypt-only"
		if i == 0 {
			state = "primary"
		}
		perLine = append(perLine, state+" "+text)
		perEntry = append(perEntry, state+" "+text)
	}
	const t0 = "2026-01-01T00:00:00Z"
	tests := []struct {
		name        string
		text        string
		line, entry int
		is          error // if not nil, the error must also match it
	}{
		{"unknown state", "primary " + kt[0] + "\nsecondary " + kt[1] + "\n", 2, 0, nil},
		{"state in capitals", "Primary " + kt[0], 1, 0, nil},
		{"key before state", kt[0] + " primary", 1, 0, nil},
		{"unknown state in a ';' line", "primary " + kt[0] + "; retired " + kt[1], 1, 2, nil},
		{"comment after an entry", "primary " + kt[0] + "; # old keys follow", 1, 2, nil},
		{"missing key", "primary " + kt[0] + "\ndecrypt-only\n", 2, 0, nil},
		{"missing key, CRLF", "primary " + kt[0] + "\r\ndecrypt-only\r\n", 2, 0, nil},
		{"missing key in a ';' line", "decrypt-only " + kt[1] + " ;primary", 1, 2, nil},
		{"typo in key", "# keys\nprimary " + kt[0] + "\ndecrypt-only " + typo(kt[1]), 3, 0, crypto.ErrKey},
		{"truncated key", "primary " + kt[0][:len(kt[0])-1], 1, 0, crypto.ErrKey},
		{"key with a line break", "primary " + kt[0][:30] + "\n" + kt[0][30:], 1, 0, crypto.ErrKey},
		{"bad key ID", "primary " + kt[0] + ";decrypt-only " + noID, 1, 2, crypto.ErrKey},
		{"non-canonical key", "primary " + kt[0] + "\n\ndecrypt-only " + nonCanonical, 3, 0, crypto.ErrKey},
		{"not a key", "primary hunter2", 1, 0, crypto.ErrKey},
		{"unknown attribute", "primary " + kt[0] + " expires=" + t0, 1, 0, nil},
		{"key where an attribute goes", "primary " + kt[0] + " " + kt[1], 1, 0, nil},
		{"attribute without value", "primary " + kt[0] + " added", 1, 0, nil},
		{"added twice", "primary " + kt[0] + " added=" + t0 + " added=" + t0, 1, 0, nil},
		{"demoted twice", "decrypt-only " + kt[1] + " demoted=" + t0 + " demoted=2026-02-01T00:00:00Z\nprimary " + kt[0], 1, 0, nil},
		{"twice, first the zero time", "primary " + kt[0] + " added=0001-01-01T00:00:00Z added=" + t0, 1, 0, nil},
		{"bad time", "primary " + kt[0] + " added=yesterday", 1, 0, nil},
		{"date without time", "primary " + kt[0] + "\ndecrypt-only " + kt[1] + " demoted=2026-01-01", 2, 0, nil},
		{"bad month", "primary " + kt[0] + " added=2026-13-01T00:00:00Z", 1, 0, nil},
		{"time with a key in it", "primary " + kt[0] + " added=" + kt[1], 1, 0, nil},
		{"too many keys, one per line", strings.Join(perLine, "\n"), maxKeys + 1, 0, rotation.ErrKeyring},
		{"too many keys, one line", strings.Join(perEntry, ";"), 1, maxKeys + 1, rotation.ErrKeyring},
		{"too many keys among comments", "# a\n" + strings.Join(perLine, "\n# b\n"), 2*maxKeys + 2, 0, rotation.ErrKeyring},
	}
	inputs := append(append([]string{}, kt...), typo(kt[1]), noID, nonCanonical)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, source := range []string{testSource, ""} {
				r, err := rotation.ParseKeys(source, tt.text)
				if r != nil || err == nil {
					t.Fatalf("ParseKeys = %v, %v; want nil and an error", r, err)
				}
				var pe *rotation.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("ParseKeys error is %T, want *ParseError", err)
				}
				if pe.Source != source || pe.Line != tt.line || pe.Entry != tt.entry {
					t.Fatalf("ParseError{Source: %q, Line: %d, Entry: %d}, want {%q, %d, %d}",
						pe.Source, pe.Line, pe.Entry, source, tt.line, tt.entry)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Fatalf("ParseKeys error does not match %v", tt.is)
				}
				if pe.Unwrap() == nil {
					t.Fatal("ParseError has no cause")
				}
				msg := err.Error()
				if leaksKeyText(msg, inputs, true) {
					// Never print the message: it holds key material.
					t.Fatal("ParseError message contains part of a key text")
				}
				name := source
				if name == "" {
					name = "key list"
				}
				if !strings.Contains(msg, fmt.Sprintf("%s line %d", name, tt.line)) {
					t.Fatalf("ParseError message %q does not name %s line %d", msg, name, tt.line)
				}
			}
		})
	}
}

// TestParseKeysBadRings checks lists whose entries parse but do not make a
// ring: the error matches ErrKeyring and names the source.
func TestParseKeysBadRings(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 2)
	kt := []string{k[0].SecretText(), k[1].SecretText()}
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"blank", " \n\t\r\n;;"},
		{"only comments", "# primary " + kt[0] + "\n#\n"},
		{"no primary", "decrypt-only " + kt[0] + "\ndecrypt-only " + kt[1]},
		{"two primaries", "primary " + kt[0] + "\nprimary " + kt[1]},
		{"two primaries on one line", "primary " + kt[0] + "; primary " + kt[1]},
		{"duplicate key", "primary " + kt[0] + "\ndecrypt-only " + kt[1] + "\ndecrypt-only " + kt[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rotation.ParseKeys(testSource, tt.text)
			if r != nil || !errors.Is(err, rotation.ErrKeyring) {
				t.Fatalf("ParseKeys = %v, %v; want nil, an error matching ErrKeyring", r, err)
			}
			var pe *rotation.ParseError
			if errors.As(err, &pe) {
				t.Fatalf("a list that is not a ring gave a *ParseError (line %d)", pe.Line)
			}
			if !strings.HasPrefix(err.Error(), testSource+": ") {
				t.Fatalf("error %q does not start with the source name", err)
			}
			if leaksKeyText(err.Error(), kt, false) {
				t.Fatal("error message contains part of a key's secret")
			}
			// Without a source name the error is ErrKeyring's own.
			_, err = rotation.ParseKeys("", tt.text)
			if !errors.Is(err, rotation.ErrKeyring) || !strings.HasPrefix(err.Error(), rotation.ErrKeyring.Error()) {
				t.Fatalf("ParseKeys without a source = %v", err)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	// Not parallel: it uses Setenv.
	const name = "CRUMB_ROTATION_TEST_KEYS"
	k := newKeys(t, 2)

	t.Run("unset", func(t *testing.T) {
		t.Setenv(name, "") // restores the variable after the test
		os.Unsetenv(name)
		if r, err := rotation.FromEnv(name); !errors.Is(err, rotation.ErrNoKeys) || r != nil {
			t.Fatalf("FromEnv(unset) = %v, %v; want nil, ErrNoKeys", r, err)
		}
	})
	for _, blank := range []string{"", " ", "\t\n \r\n"} {
		t.Run(fmt.Sprintf("blank %q", blank), func(t *testing.T) {
			t.Setenv(name, blank)
			if r, err := rotation.FromEnv(name); !errors.Is(err, rotation.ErrNoKeys) || r != nil {
				t.Fatalf("FromEnv(blank) = %v, %v; want nil, ErrNoKeys", r, err)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		t.Setenv(name, "primary "+k[0].SecretText()+"; decrypt-only "+k[1].SecretText())
		r, err := rotation.FromEnv(name)
		if err != nil {
			t.Fatalf("FromEnv: %v", err)
		}
		checkRing(t, r)
		if !r.Primary().Equal(k[0]) || len(r.Entries()) != 2 {
			t.Fatalf("FromEnv ring: primary %v, %d keys; want %v, 2 keys", r.Primary(), len(r.Entries()), k[0])
		}
		mustOpen(t, r, sealWith(t, k[1], "v"), "v", k[1], true)
	})
	t.Run("bad entry", func(t *testing.T) {
		bad := typo(k[1].SecretText())
		t.Setenv(name, "primary "+k[0].SecretText()+"; decrypt-only "+bad)
		r, err := rotation.FromEnv(name)
		var pe *rotation.ParseError
		if r != nil || !errors.As(err, &pe) || !errors.Is(err, crypto.ErrKey) {
			t.Fatalf("FromEnv = %v, %v; want nil, a *ParseError matching crypto.ErrKey", r, err)
		}
		if pe.Source != name || pe.Line != 1 || pe.Entry != 2 {
			t.Fatalf("ParseError{%q, line %d, entry %d}, want {%q, 1, 2}", pe.Source, pe.Line, pe.Entry, name)
		}
		if leaksKeyText(err.Error(), []string{k[0].SecretText(), bad}, true) {
			t.Fatal("error message contains part of a key text")
		}
	})
	t.Run("no primary", func(t *testing.T) {
		t.Setenv(name, "decrypt-only "+k[0].SecretText())
		if r, err := rotation.FromEnv(name); !errors.Is(err, rotation.ErrKeyring) || r != nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Fatalf("FromEnv = %v, %v; want nil, ErrKeyring naming %s", r, err, name)
		}
	})
}

// writeKeys replaces the file at path atomically, as a deploy tool should,
// so that a watcher never reads half a file.
func writeKeys(t testing.TB, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFileSourceLoads checks the first load: a missing file or a
// directory fails, a good file with CRLF line ends, comments and a
// trailing comment after "end" loads, and a bad entry fails naming its
// line.
func TestFileSourceLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := newKeys(t, 2)

	if r, err := rotation.NewFileSource(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) || r != nil {
		t.Fatalf("NewFileSource(missing) = %v, %v; want nil, fs.ErrNotExist", r, err)
	}
	if r, err := rotation.NewFileSource(dir); err == nil || r != nil {
		t.Fatalf("NewFileSource(a directory) = %v, %v; want an error", r, err)
	}

	good := filepath.Join(dir, "keys")
	writeKeys(t, good, "# keys\r\nprimary "+k[0].SecretText()+"\r\ndecrypt-only "+k[1].SecretText()+" demoted=2026-01-01T00:00:00Z\r\nend\r\n# trailing comment\r\n")
	src, err := rotation.NewFileSource(good)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	r := src.At(at(0))
	checkRing(t, r)
	if !r.Primary().Equal(k[0]) || len(r.Entries()) != 2 {
		t.Fatalf("NewFileSource ring: primary %v, %d keys; want %v, 2 keys", r.Primary(), len(r.Entries()), k[0])
	}

	bad := filepath.Join(dir, "bad")
	writeKeys(t, bad, "primary "+k[0].SecretText()+"\nprimary\nend\n")
	src, err = rotation.NewFileSource(bad)
	var pe *rotation.ParseError
	if src != nil || !errors.As(err, &pe) || pe.Source != bad || pe.Line != 2 {
		t.Fatalf("NewFileSource(bad) = %v, %v; want a *ParseError for %s line 2", src, err, bad)
	}
}

func TestFileSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	k := newKeys(t, 2)
	v1 := "primary " + k[0].SecretText() + "\nend\n"
	v2 := "primary " + k[1].SecretText() + "\ndecrypt-only " + k[0].SecretText() + "\nend\n"

	if src, err := rotation.NewFileSource(path); !errors.Is(err, fs.ErrNotExist) || src != nil {
		t.Fatalf("NewFileSource(missing) = %v, %v; want nil, fs.ErrNotExist", src, err)
	}
	writeKeys(t, path, "decrypt-only "+k[0].SecretText()+"\nend")
	if src, err := rotation.NewFileSource(path); !errors.Is(err, rotation.ErrKeyring) || src != nil {
		t.Fatalf("NewFileSource(no primary) = %v, %v; want nil, ErrKeyring", src, err)
	}
	writeKeys(t, path, "primary "+typo(k[0].SecretText())+"\nend")
	var pe *rotation.ParseError
	if src, err := rotation.NewFileSource(path); !errors.As(err, &pe) || src != nil {
		t.Fatalf("NewFileSource(bad key) = %v, %v; want nil, a *ParseError", src, err)
	}

	writeKeys(t, path, v1)
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	var s rotation.Source = src
	r1 := s.At(at(0))
	checkRing(t, r1)
	if !r1.Primary().Equal(k[0]) {
		t.Fatalf("primary is %v, want %v", r1.Primary(), k[0])
	}
	old := sealRing(t, r1, "sealed under v1")

	reload := func(wantChanged bool, want *rotation.Keyring) {
		t.Helper()
		changed, err := src.Reload()
		if err != nil || changed != wantChanged {
			t.Fatalf("Reload = %v, %v; want %v, nil", changed, err, wantChanged)
		}
		if want != nil && src.At(at(0)) != want {
			t.Fatal("Reload replaced the ring")
		}
	}
	reload(false, r1)
	writeKeys(t, path, v1) // rewritten, same contents
	reload(false, r1)

	writeKeys(t, path, v2)
	reload(true, nil)
	r2 := src.At(at(0))
	checkRing(t, r2)
	if r2 == r1 || !r2.Primary().Equal(k[1]) {
		t.Fatalf("after a rewrite the primary is %v, want %v", r2.Primary(), k[1])
	}
	mustOpen(t, r2, old, "sealed under v1", k[0], true)

	// Bad rewrites report an error and keep the last good ring.
	for _, bad := range []struct {
		name, text string
		is         error
	}{
		{"half-written", v2[:40], crypto.ErrKey},
		{"no primary", "decrypt-only " + k[1].SecretText() + "\nend\n", rotation.ErrKeyring},
		{"no end", "primary " + k[0].SecretText() + "\n", rotation.ErrKeyring},
		{"empty", "", rotation.ErrKeyring},
	} {
		writeKeys(t, path, bad.text)
		for range 2 { // and again on the next check
			changed, err := src.Reload()
			if changed || !errors.Is(err, bad.is) {
				t.Fatalf("Reload(%s) = %v, %v; want false, an error matching %v", bad.name, changed, err, bad.is)
			}
			if src.At(at(0)) != r2 {
				t.Fatalf("Reload(%s) replaced the ring", bad.name)
			}
		}
	}
	// Restoring the contents in force is no change.
	writeKeys(t, path, v2)
	reload(false, r2)

	// A vanished file is an error; the ring stays.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Reload(); changed || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Reload(removed file) = %v, %v; want false, fs.ErrNotExist", changed, err)
	}
	if src.At(at(0)) != r2 {
		t.Fatal("a failed read replaced the ring")
	}
}

type reloadResult struct {
	changed bool
	err     error
}

// TestFileSourceWatch waits on Watch's reports, not on the clock: the
// interval is short and each step waits for the report it expects.
func TestFileSourceWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	k := newKeys(t, 2)
	writeKeys(t, path, "primary "+k[0].SecretText()+"\nend\n")
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	r1 := src.At(at(0))

	ctx, cancel := context.WithCancel(t.Context())
	reports := make(chan reloadResult)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		src.Watch(ctx, time.Millisecond, func(changed bool, err error) {
			select {
			case reports <- reloadResult{changed, err}:
			case <-ctx.Done():
			}
		})
	}()
	defer func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after its context was cancelled")
		}
	}()

	// wait returns the first report for which ok is true; every report
	// before it must be an unchanged, successful check.
	wait := func(what string, ok func(reloadResult) bool) reloadResult {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case r := <-reports:
				if ok(r) {
					return r
				}
				if r.changed || r.err != nil {
					t.Fatalf("waiting for %s, Watch reported changed=%v err=%v", what, r.changed, r.err)
				}
			case <-timeout:
				t.Fatalf("Watch did not report %s within 10s", what)
			}
		}
	}

	wait("an unchanged check", func(r reloadResult) bool { return !r.changed && r.err == nil })
	if src.At(at(0)) != r1 {
		t.Fatal("an unchanged check replaced the ring")
	}

	writeKeys(t, path, "primary "+k[1].SecretText()+"\ndecrypt-only "+k[0].SecretText()+"\nend\n")
	wait("the change", func(r reloadResult) bool { return r.changed && r.err == nil })
	r2 := src.At(at(0))
	if !r2.Primary().Equal(k[1]) {
		t.Fatalf("after the change the primary is %v, want %v", r2.Primary(), k[1])
	}

	writeKeys(t, path, "primary "+typo(k[1].SecretText())+"\nend\n")
	r := wait("the failed reload", func(r reloadResult) bool { return r.err != nil })
	var pe *rotation.ParseError
	if r.changed || !errors.As(r.err, &pe) || !errors.Is(r.err, crypto.ErrKey) {
		t.Fatalf("Watch reported changed=%v err=%v; want false, a *ParseError matching crypto.ErrKey", r.changed, r.err)
	}
	if src.At(at(0)) != r2 {
		t.Fatal("a failed reload replaced the ring")
	}
}

func TestFileSourceWatchStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	writeKeys(t, path, "primary "+newKey(t).SecretText()+"\nend")
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	for _, precancel := range []bool{true, false} {
		ctx, cancel := context.WithCancel(t.Context())
		if precancel {
			cancel()
		}
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			src.Watch(ctx, time.Hour, nil)
		}()
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatalf("Watch (context cancelled before start: %v) did not return after cancel", precancel)
		}
	}
}

// TestKeyListEnd checks the "end" entry: optional in ParseKeys, the last
// entry when present, and alone on its entry.
func TestKeyListEnd(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 2)
	p, d := "primary "+k[0].SecretText(), "decrypt-only "+k[1].SecretText()
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"no end", p + "\n" + d, true},
		{"end line", p + "\n" + d + "\nend\n", true},
		{"end entry on one line", p + "; " + d + "; end", true},
		{"comments and blanks after end", p + "\nend\n\n# done\n", true},
		{"key after end", p + "\nend\n" + d, false},
		{"key after end on one line", p + "; end; " + d, false},
		{"end twice", p + "\nend\nend\n", false},
		{"end with an argument", p + "\nend now\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rotation.ParseKeys("test", tt.text)
			if tt.ok {
				if err != nil || r == nil || len(r.Entries()) != strings.Count(tt.text, "crumbkey1_") {
					t.Fatalf("ParseKeys = %v, %v; want a ring of every key", r, err)
				}
				return
			}
			var pe *rotation.ParseError
			if r != nil || !errors.As(err, &pe) {
				t.Fatalf("ParseKeys = %v, %v; want nil, a *ParseError", r, err)
			}
		})
	}
}

// TestFileSourceCutShort rewrites a key file in place, as an editor or a
// shell redirect does, and reloads at every byte of the rewrite: a reload
// installs the new list only once it is complete, and otherwise keeps the
// ring in force. The interesting cuts are at line boundaries, where every
// entry read is well formed and the list read is a valid, smaller ring.
func TestFileSourceCutShort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	k := newKeys(t, 3)
	before := "primary " + k[0].SecretText() + "\ndecrypt-only " + k[1].SecretText() + "\nend\n"
	// The promotion step of docs/KEYS.md: the staged key becomes primary,
	// the old primary decrypt-only, listed after it.
	after := "# promoted\nprimary " + k[2].SecretText() + "\ndecrypt-only " + k[0].SecretText() +
		" demoted=2026-11-20T10:00:00Z\ndecrypt-only " + k[1].SecretText() + "\nend\n"
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	r1 := src.At(at(0))
	complete := strings.LastIndex(after, "end") + len("end")
	for n := 0; n < complete; n++ {
		if err := os.WriteFile(path, []byte(after[:n]), 0o600); err != nil {
			t.Fatal(err)
		}
		if changed, err := src.Reload(); changed || err == nil {
			t.Fatalf("Reload of the first %d bytes = %v, %v; want false, an error", n, changed, err)
		}
		if src.At(at(0)) != r1 {
			t.Fatalf("Reload of the first %d bytes (%d whole lines) replaced the ring", n, strings.Count(after[:n], "\n"))
		}
	}
	if err := os.WriteFile(path, []byte(after), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := src.Reload(); !changed || err != nil {
		t.Fatalf("Reload of the whole file = %v, %v; want true, nil", changed, err)
	}
	if r := src.At(at(0)); !r.Primary().Equal(k[2]) || len(r.Entries()) != 3 {
		t.Fatalf("after the rewrite: primary %v, %d keys; want %v, 3", r.Primary(), len(r.Entries()), k[2])
	}
	// The first load applies the same rule.
	if err := os.WriteFile(path, []byte(after[:strings.LastIndex(after, "end")]), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := rotation.NewFileSource(path); r != nil || !errors.Is(err, rotation.ErrKeyring) {
		t.Fatalf("NewFileSource(no end) = %v, %v; want nil, ErrKeyring", r, err)
	}
}

// TestFileSourceReloadsInOrder runs Reloads from several goroutines while
// the file changes under them. Each read sees a newer version of the file;
// reads must never overlap, so that a slow read of an older version can
// never be installed after a newer one, and when all is done the ring in
// force is the newest version read.
func TestFileSourceReloadsInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	keys := newKeys(t, 8)
	version := func(v int) []byte {
		// Version v lists keys[v%8] as primary: consecutive versions differ.
		return []byte("primary " + keys[v%len(keys)].SecretText() + "\nend\n")
	}
	writeKeys(t, path, string(version(0)))
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	var (
		mu       sync.Mutex
		inFlight int
		overlaps int
		reads    int
	)
	rotation.SetReadFile(src, func(string) ([]byte, error) {
		mu.Lock()
		inFlight++
		if inFlight > 1 {
			overlaps++
		}
		reads++
		v := reads
		mu.Unlock()
		// Give other goroutines every chance to start a read meanwhile.
		for range 50 {
			runtime.Gosched()
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return version(v), nil
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := src.Reload(); err != nil {
					t.Errorf("Reload: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if overlaps != 0 {
		t.Errorf("%d reads overlapped another read", overlaps)
	}
	if got, want := src.At(at(0)).Primary(), keys[reads%len(keys)]; !got.Equal(want) {
		t.Errorf("after %d reads the primary is %v, want %v from the newest version", reads, got, want)
	}
}
