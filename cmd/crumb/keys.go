package main

// The key commands: keygen, keyring and rotate.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// newFlags returns a flag set that reports errors to the caller only.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args and returns the one file name they must leave.
func parse(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", usageError{err}
	}
	if fs.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s: want one key file, got %d arguments", fs.Name(), fs.NArg())}
	}
	return fs.Arg(0), nil
}

// policyFlags adds the flags of a rotation policy, and of the time, to fs.
type policyFlags struct {
	propagation, lifetime, skew time.Duration
	now                         string
}

func addPolicyFlags(fs *flag.FlagSet) *policyFlags {
	p := new(policyFlags)
	fs.DurationVar(&p.propagation, "propagation", 10*time.Minute, "how long a new key takes to reach every instance")
	fs.DurationVar(&p.lifetime, "lifetime", 14*24*time.Hour, "the longest a session cookie stays valid after it is sealed")
	fs.DurationVar(&p.skew, "skew", 0, "the largest clock difference between instances")
	fs.StringVar(&p.now, "now", "", "the time, RFC 3339 (default: now)")
	return p
}

// check refuses negative timings, which would make a step safe at once.
func (p *policyFlags) check() error {
	if p.propagation < 0 || p.lifetime < 0 || p.skew < 0 {
		return usageError{errors.New("-propagation, -lifetime and -skew must not be negative")}
	}
	return nil
}

func (p *policyFlags) policy() rotation.Policy {
	return rotation.Policy{Propagation: p.propagation, MaxLifetime: p.lifetime, ClockSkew: p.skew}
}

// time returns the time the command acts at, after checking the timings.
func (p *policyFlags) time(now func() time.Time) (time.Time, error) {
	if err := p.check(); err != nil {
		return time.Time{}, err
	}
	if p.now == "" {
		return now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, p.now)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("-now: want an RFC 3339 time such as 2026-12-01T10:00:00Z")}
	}
	return t.UTC(), nil
}

// keygen prints a new key.
func keygen(args []string, stdout io.Writer) error {
	fs := newFlags("keygen")
	env := fs.Bool("env", false, "print the key list on one line, for an environment variable")
	master := fs.Bool("master", false, "print a master key for rotation.NewSchedule")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 0 || (*env && *master) {
		return usageError{errors.New("keygen: takes -env or -master, and no arguments")}
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	switch {
	case *master:
		_, err = fmt.Fprintln(stdout, k.SecretText())
	case *env:
		_, err = fmt.Fprintf(stdout, "primary %s\n", k.SecretText())
	default:
		ring, err := rotation.NewKeyring(k)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, formatRing(ring))
		return err
	}
	return err
}

// formatRing writes ring in the key list format of a key file, "end"
// included.
func formatRing(ring *rotation.Keyring) string {
	var b strings.Builder
	b.WriteString("# crumb key list: docs/KEYS.md. Secret: keep it out of version control.\n")
	for _, e := range ring.Entries() {
		fmt.Fprintf(&b, "%-12s %s", e.State, e.Key.SecretText())
		if !e.AddedAt.IsZero() {
			fmt.Fprintf(&b, " added=%s", e.AddedAt.UTC().Format(time.RFC3339))
		}
		if !e.DemotedAt.IsZero() {
			fmt.Fprintf(&b, " demoted=%s", e.DemotedAt.UTC().Format(time.RFC3339))
		}
		b.WriteByte('\n')
	}
	b.WriteString("end\n")
	return b.String()
}

// readRing reads a key file.
func readRing(path string) (*rotation.Keyring, error) {
	src, err := rotation.NewFileSource(path)
	if err != nil {
		return nil, err
	}
	return src.At(time.Time{}), nil
}

// writeRing replaces the key file at path with ring, atomically: the new
// list is written to a temporary file in the same directory, with the
// old file's permissions and owner, flushed to disk, and renamed over the
// old one, whose directory is flushed too. A symbolic link is followed:
// its target is replaced, and the link stays.
func writeRing(path string, ring *rotation.Keyring) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := os.FileMode(0o600)
	fi, statErr := os.Stat(path)
	if statErr == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if statErr == nil {
		if err := sameOwner(tmp, fi); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(tmp, formatRing(ring)); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync() // the rename itself, on file systems that need it
		dir.Close()
	}
	return nil
}

// lockFile takes the lock of the key file at path for one rotation step:
// a file beside it, created exclusively, so that two steps run at once
// cannot both read the old list and lose one's change. It returns the
// function that releases it.
func lockFile(path string) (func(), error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return nil, fmt.Errorf("another crumb rotate is changing the key file (remove %s if none is)", filepath.Base(lock))
		}
		return nil, err
	}
	f.Close()
	return func() { os.Remove(lock) }, nil
}

// keyring lists the keys of a key file.
func keyring(args []string, stdout io.Writer, now func() time.Time) error {
	fs := newFlags("keyring")
	pf := addPolicyFlags(fs)
	path, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := pf.time(now)
	if err != nil {
		return err
	}
	ring, err := readRing(path)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tADDED\tAGE\tDEMOTED\tNEXT STEP")
	for _, e := range ring.Entries() {
		age := "-"
		if !e.AddedAt.IsZero() {
			age = t.Sub(e.AddedAt).Round(time.Minute).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Key.ID(), e.State, stamp(e.AddedAt), age, stamp(e.DemotedAt), nextStep(ring, e, pf.policy(), t))
	}
	return w.Flush()
}

// stamp formats a time of the key list, or "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// nextStep says what the rotation procedure may do with the key e next,
// and from when.
func nextStep(ring *rotation.Keyring, e rotation.Entry, p rotation.Policy, now time.Time) string {
	switch {
	case e.State == rotation.Primary:
		return "seals"
	case e.DemotedAt.IsZero():
		at, err := ring.PromoteAt(e.Key.ID(), p)
		if err != nil {
			return "promote: when it was added is unknown"
		}
		return "promote: " + when(at, now)
	}
	at, err := ring.RetireAt(e.Key.ID(), p)
	if err != nil {
		return "retire: " + err.Error()
	}
	return "retire: " + when(at, now)
}

// when says whether at has come.
func when(at, now time.Time) string {
	if !now.Before(at) {
		return "safe now (since " + stamp(at) + ")"
	}
	return "not before " + stamp(at) + " (in " + at.Sub(now).Round(time.Minute).String() + ")"
}

// rotate runs one step of the staged procedure on a key file.
func rotate(args []string, stdout io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return usageError{errors.New("rotate: want add, promote or retire")}
	}
	step := args[0]
	switch step {
	case "add", "promote", "retire":
	default:
		return usageError{fmt.Errorf("rotate: unknown step %q: want add, promote or retire", step)}
	}
	fs := newFlags("rotate " + step)
	pf := addPolicyFlags(fs)
	id := fs.String("id", "", "the key to promote or retire (default: the one the procedure is at)")
	force := fs.Bool("force", false, "take the step even if it is not yet safe")
	path, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	t, err := pf.time(now)
	if err != nil {
		return err
	}
	unlock, err := lockFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	ring, err := readRing(path)
	if err != nil {
		return err
	}
	var next *rotation.Keyring
	var done string
	switch step {
	case "add":
		next, done, err = add(ring, pf.policy(), t)
	case "promote":
		next, done, err = promote(ring, *id, *force, pf.policy(), t)
	default:
		next, done, err = retire(ring, *id, *force, pf.policy(), t)
	}
	if err != nil {
		return err
	}
	if err := writeRing(path, next); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, done)
	return err
}

// add adds a new decrypt-only key.
func add(ring *rotation.Keyring, p rotation.Policy, now time.Time) (*rotation.Keyring, string, error) {
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, "", err
	}
	next, err := ring.Add(k, now)
	if err != nil {
		return nil, "", err
	}
	at, err := next.PromoteAt(k.ID(), p)
	if err != nil {
		return nil, "", err
	}
	return next, fmt.Sprintf("added %s, decrypt-only: deploy the file everywhere, then promote it, %s", k.ID(), when(at, now)), nil
}

// findKey returns the key of the ring whose ID is id.
func findKey(ring *rotation.Keyring, id string) (rotation.Entry, error) {
	kid, err := crypto.ParseKeyID(id)
	if err != nil {
		return rotation.Entry{}, usageError{fmt.Errorf("-id: %v", err)}
	}
	for _, e := range ring.Entries() {
		if e.Key.ID() == kid {
			return e, nil
		}
	}
	return rotation.Entry{}, fmt.Errorf("no key %s in the file", kid)
}

// promote makes a decrypt-only key primary: the one named, or the one
// added last that was never primary.
func promote(ring *rotation.Keyring, id string, force bool, p rotation.Policy, now time.Time) (*rotation.Keyring, string, error) {
	var e rotation.Entry
	if id != "" {
		var err error
		if e, err = findKey(ring, id); err != nil {
			return nil, "", err
		}
	} else {
		found := false
		for _, c := range ring.Entries() {
			if c.State == rotation.DecryptOnly && c.DemotedAt.IsZero() && (!found || c.AddedAt.After(e.AddedAt)) {
				e, found = c, true
			}
		}
		if !found {
			return nil, "", errors.New("no key to promote: run crumb rotate add first")
		}
	}
	if e.State == rotation.Primary {
		return nil, "", fmt.Errorf("key %s is already primary", e.Key.ID())
	}
	at, err := ring.PromoteAt(e.Key.ID(), p)
	switch {
	case force:
	case err != nil:
		return nil, "", fmt.Errorf("not promoting %s: when it was added is unknown, so it may not have reached every instance (-force to promote anyway)", e.Key.ID())
	case now.Before(at):
		return nil, "", fmt.Errorf("not promoting %s before %s: instances that have not loaded it yet could not open what it seals (-force to promote anyway)", e.Key.ID(), stamp(at))
	}
	next, err := ring.Promote(e.Key.ID(), now)
	if err != nil {
		return nil, "", err
	}
	old := ring.Primary().ID()
	retireAt, err := next.RetireAt(old, p)
	if err != nil {
		return nil, "", err
	}
	return next, fmt.Sprintf("promoted %s; %s is decrypt-only: retire it %s", e.Key.ID(), old, when(retireAt, now)), nil
}

// retire removes demoted keys whose cookies can no longer be valid: the
// one named, or every such key.
func retire(ring *rotation.Keyring, id string, force bool, p rotation.Policy, now time.Time) (*rotation.Keyring, string, error) {
	var candidates []rotation.Entry
	if id != "" {
		e, err := findKey(ring, id)
		if err != nil {
			return nil, "", err
		}
		candidates = append(candidates, e)
	} else {
		for _, e := range ring.Entries() {
			if e.State == rotation.DecryptOnly && !e.DemotedAt.IsZero() {
				candidates = append(candidates, e)
			}
		}
		if len(candidates) == 0 {
			return nil, "", errors.New("no demoted key to retire")
		}
	}
	next := ring
	var removed, waiting []string
	for _, e := range candidates {
		if e.State == rotation.Primary {
			return nil, "", fmt.Errorf("key %s is primary: promote another key first", e.Key.ID())
		}
		at, err := ring.RetireAt(e.Key.ID(), p)
		if !force {
			switch {
			case err != nil:
				waiting = append(waiting, fmt.Sprintf("%s (%v)", e.Key.ID(), err))
				continue
			case now.Before(at):
				waiting = append(waiting, fmt.Sprintf("%s (safe from %s)", e.Key.ID(), stamp(at)))
				continue
			}
		}
		if next, err = next.Remove(e.Key.ID()); err != nil {
			return nil, "", err
		}
		removed = append(removed, e.Key.ID().String())
	}
	if len(removed) == 0 {
		return nil, "", fmt.Errorf("not retiring %s: cookies it sealed may still be valid (-force to retire anyway, logging their users out)", strings.Join(waiting, ", "))
	}
	msg := "retired " + strings.Join(removed, ", ")
	if len(waiting) > 0 {
		msg += "; kept " + strings.Join(waiting, ", ")
	}
	return next, msg, nil
}
