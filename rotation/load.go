package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crumbhq/crumb/crypto"
)

// The key list format, read by ParseKeys, FromEnv and FileSource,
// is one key per entry, entries separated by newlines or semicolons:
//
//	# lines starting with '#' and blank entries are ignored
//	primary      crumbkey1_7f3a09c2_<43 characters>
//	decrypt-only crumbkey1_1b2c3d4e_<43 characters> demoted=2026-11-20T10:00:00Z
//	end
//
// Each entry is a state ("primary" or "decrypt-only"), whitespace, a key in
// the text form of [crypto.Key.SecretText] (which carries the key ID), and
// optional attributes added=<RFC 3339 time> and demoted=<RFC 3339 time>
// that feed [Keyring.PromoteAt] and [Keyring.RetireAt]. Exactly one entry
// is primary.
//
// A key file (FileSource) must end with the entry "end": only
// blank lines and comments may follow it. A file cut short, such as one
// read while an editor or a script rewrites it in place, lacks it and is
// refused, so a reload never installs the first half of a key list as if
// it were the whole. In an environment variable the "end" entry is
// optional, and semicolons keep the list on one line:
//
//	CRUMB_KEYS="primary crumbkey1_...; decrypt-only crumbkey1_..."

// ErrNoKeys is returned by FromEnv when the variable is unset or empty.
var ErrNoKeys = errors.New("rotation: no keys configured")

// ParseError reports a bad entry in a key list. Its message names the
// source and the entry's line number and says what is wrong, and never
// contains any part of the input, which may hold secrets.
type ParseError struct {
	Source string // file name or environment variable; may be empty
	Line   int    // 1-based line number
	Entry  int    // 1-based entry within the line, when a line holds several
	Err    error
}

func (e *ParseError) Error() string {
	src := e.Source
	if src == "" {
		src = "key list"
	}
	if e.Entry > 0 {
		return fmt.Sprintf("rotation: %s line %d entry %d: %v", src, e.Line, e.Entry, e.Err)
	}
	return fmt.Sprintf("rotation: %s line %d: %v", src, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseKeys parses a key list (see the format above) into a Keyring. The
// source names the list in errors. Errors are [*ParseError] for a bad entry
// and match [ErrKeyring] for a list that is not a valid ring (no primary,
// duplicates, too many keys). The final "end" entry is optional here.
func ParseKeys(source, text string) (*Keyring, error) {
	return parseKeys(source, text, false)
}

// parseKeys is ParseKeys; requireEnd makes the final "end" entry mandatory,
// as it is in key files.
func parseKeys(source, text string, requireEnd bool) (*Keyring, error) {
	text = strings.TrimPrefix(text, "\uFEFF") // a byte order mark some editors write
	var entries []Entry
	line, ended := 0, 0 // ended: the line of the "end" entry
	for raw := range strings.SplitSeq(text, "\n") {
		line++
		if strings.HasPrefix(strings.TrimSpace(raw), "#") {
			continue
		}
		several := strings.Contains(raw, ";")
		entry := 0
		for part := range strings.SplitSeq(raw, ";") {
			entry++
			e, ok, err := parseEntry(part)
			switch {
			case err != nil:
			case ok && ended > 0:
				err = fmt.Errorf("%w: a key after the \"end\" entry (line %d)", ErrKeyring, ended)
			case ok && e.Key == nil: // the "end" entry
				if ended > 0 {
					err = errors.New(`"end" given twice`)
				}
				ended, ok = line, false
			case ok && len(entries) == maxKeys:
				err = fmt.Errorf("%w: more than %d keys", ErrKeyring, maxKeys)
			}
			if err != nil {
				pe := &ParseError{Source: source, Line: line, Err: err}
				if several {
					pe.Entry = entry
				}
				return nil, pe
			}
			if ok {
				entries = append(entries, e)
			}
		}
	}
	if requireEnd && ended == 0 {
		return nil, &ParseError{Source: source, Line: line, Err: fmt.Errorf(
			"%w: no \"end\" entry: the file is incomplete (still being written?) or lacks its last line", ErrKeyring)}
	}
	r, err := FromEntries(entries)
	if err != nil {
		if source != "" {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		return nil, err
	}
	return r, nil
}

// parseEntry parses one entry. ok is false for a blank entry; the "end"
// entry gives ok and an Entry with no key. Its errors describe the problem
// without quoting the input.
func parseEntry(s string) (e Entry, ok bool, err error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Entry{}, false, nil
	}
	switch fields[0] {
	case "end":
		if len(fields) > 1 {
			return Entry{}, false, errors.New(`nothing may follow "end" on its entry`)
		}
		return Entry{}, true, nil
	case "primary":
		e.State = Primary
	case "decrypt-only":
		e.State = DecryptOnly
	default:
		return Entry{}, false, errors.New(`entry must start with "primary", "decrypt-only" or "end"`)
	}
	if len(fields) < 2 {
		return Entry{}, false, errors.New("state has no key after it")
	}
	if e.Key, err = crypto.ParseKey(fields[1]); err != nil {
		return Entry{}, false, err
	}
	// A zero time is a valid value, so duplicates are tracked apart from it.
	var seenAdded, seenDemoted bool
	for _, attr := range fields[2:] {
		name, value, _ := strings.Cut(attr, "=")
		var dst *time.Time
		var seen *bool
		switch name {
		case "added":
			dst, seen = &e.AddedAt, &seenAdded
		case "demoted":
			dst, seen = &e.DemotedAt, &seenDemoted
		default:
			return Entry{}, false, errors.New(`unknown attribute: want added=<time> or demoted=<time>`)
		}
		if *seen {
			return Entry{}, false, fmt.Errorf("attribute %s given twice", name)
		}
		*seen = true
		t, err := time.Parse(time.RFC3339, value)
		if err != nil {
			return Entry{}, false, fmt.Errorf("attribute %s is not an RFC 3339 time", name)
		}
		*dst = t
	}
	return e, true, nil
}

// FromEnv parses the key list in the environment variable name. It returns
// [ErrNoKeys] if the variable is unset or blank.
func FromEnv(name string) (*Keyring, error) {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrNoKeys, name)
	}
	return ParseKeys(name, v)
}

// A FileSource is a [Source] backed by a key list file, reloaded when the
// file changes. Requests read the current ring without locks. A reload that
// fails (a file cut short, with no final "end" entry; a bad entry) keeps the
// previous ring and reports the error, so a mistake in the file never takes
// the keys away, and reloads run one at a time, so a slow read of an older
// version never replaces a newer one.
type FileSource struct {
	path string
	ring atomic.Pointer[Keyring]

	mu       sync.Mutex // serialises reloads; guards last and readFile
	last     []byte     // contents of the file behind ring
	readFile func(string) ([]byte, error)
}

// NewFileSource loads the key list at path. It fails if the file cannot be
// read or parsed: a service should not start without keys.
func NewFileSource(path string) (*FileSource, error) {
	f := &FileSource{path: path, readFile: os.ReadFile}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// At returns the ring last loaded, whatever the time. It may be called
// concurrently with Reload.
func (f *FileSource) At(time.Time) *Keyring { return f.ring.Load() }

// Reload reads the file and, if its contents changed since the last
// successful load, parses it and swaps in the new ring. It reports whether
// the ring changed. On error the previous ring stays in force. Concurrent
// calls run one after the other, each reading the file afresh.
func (f *FileSource) Reload() (changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.readFile(f.path)
	if err != nil {
		return false, fmt.Errorf("rotation: %w", err)
	}
	if f.last != nil && bytes.Equal(b, f.last) {
		return false, nil
	}
	r, err := parseKeys(f.path, string(b), true)
	if err != nil {
		return false, err
	}
	f.ring.Store(r)
	f.last = b
	return true, nil
}

// Watch calls Reload every interval until ctx is done. After each check it
// calls report, if not nil, with the result; use it to log failed reloads.
// Run it in its own goroutine.
func (f *FileSource) Watch(ctx context.Context, interval time.Duration, report func(changed bool, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := f.Reload()
			if report != nil {
				report(changed, err)
			}
		}
	}
}
