package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// t0 is when the rotation tests start: -now makes the procedure run on a
// schedule of the test's choosing, with no waiting.
var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) string { return "-now=" + t0.Add(d).Format(time.RFC3339) }

// secretPart matches the secret part of a key's text form.
var secretPart = regexp.MustCompile(`crumbkey1_[0-9a-f]{8}_([A-Za-z0-9_-]{43})`)

// noSecrets fails if out holds the secret of any key of the file at path.
func noSecrets(t *testing.T, out, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range secretPart.FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(out, m[1]) {
			t.Fatalf("output shows a key's secret: %q", out)
		}
	}
}

// keyFile writes a new key file with keygen and returns its path.
func keyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	r := crumb(t, "keygen").want(t, exitOK)
	if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ring reads the key file at path as an application would.
func ring(t *testing.T, path string) *rotation.Keyring {
	t.Helper()
	src, err := rotation.NewFileSource(path)
	if err != nil {
		t.Fatalf("the key file does not load: %v", err)
	}
	return src.At(time.Now())
}

func TestKeygen(t *testing.T) {
	t.Parallel()
	file := crumb(t, "keygen").want(t, exitOK).stdout
	r, err := rotation.ParseKeys("keygen", file)
	if err != nil {
		t.Fatalf("keygen's output is not a key list: %v", err)
	}
	if n := len(r.Entries()); n != 1 || !strings.HasSuffix(file, "end\n") {
		t.Errorf("keygen: %d keys, ends with end: %v; want one primary key in a complete file", n, strings.HasSuffix(file, "end\n"))
	}
	again, err := rotation.ParseKeys("keygen", crumb(t, "keygen").want(t, exitOK).stdout)
	if err != nil || again.Primary().Equal(r.Primary()) {
		t.Errorf("two runs of keygen gave the same key (%v)", err)
	}

	env := crumb(t, "keygen", "-env").want(t, exitOK).stdout
	if strings.Count(env, "\n") != 1 {
		t.Errorf("keygen -env: %q, want one line", env)
	}
	if _, err := rotation.ParseKeys("CRUMB_KEYS", strings.TrimSpace(env)); err != nil {
		t.Errorf("keygen -env is not a key list for the environment: %v", err)
	}

	master := crumb(t, "keygen", "-master").want(t, exitOK).stdout
	k, err := crypto.ParseKey(strings.TrimSpace(master))
	if err != nil {
		t.Fatalf("keygen -master does not parse with crypto.ParseKey: %v", err)
	}
	if _, err := rotation.NewSchedule(k, rotation.ScheduleConfig{Period: 7 * 24 * time.Hour, Previous: 2}); err != nil {
		t.Errorf("keygen -master is refused by rotation.NewSchedule: %v", err)
	}
}

func TestKeyring(t *testing.T) {
	t.Parallel()
	path := keyFile(t)
	crumb(t, "rotate", "add", at(0), path).want(t, exitOK)
	r := crumb(t, "keyring", at(5*time.Minute), path).want(t, exitOK)
	noSecrets(t, r.stdout+r.stderr, path)
	entries := ring(t, path).Entries()
	for _, e := range entries {
		if !strings.Contains(r.stdout, e.Key.ID().String()) {
			t.Errorf("keyring does not list %s: %q", e.Key.ID(), r.stdout)
		}
	}
	for _, want := range []string{"primary", "seals", "decrypt-only", "promote: not before 2026-03-01T12:10:00Z (in 5m0s)", "2026-03-01T12:00:00Z  5m0s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("keyring output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := crumb(t, "keyring", at(10*time.Minute), path).want(t, exitOK); !strings.Contains(r.stdout, "promote: safe now") {
		t.Errorf("after the propagation time, keyring says:\n%s", r.stdout)
	}

	// A broken file is refused with a message that shows none of it.
	bad := filepath.Join(t.TempDir(), "keys")
	data, _ := os.ReadFile(path)
	broken := strings.Replace(string(data), "crumbkey1_", "crumbkey2_", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	r = crumb(t, "keyring", bad).want(t, exitFail)
	noSecrets(t, r.stdout+r.stderr, path)
	crumb(t, "keyring", filepath.Join(t.TempDir(), "missing")).want(t, exitFail)
}

// TestRotate runs the staged procedure of docs/KEYS.md on a key file,
// with each step tried too early (refused, the file unchanged), on time
// and forced.
func TestRotate(t *testing.T) {
	t.Parallel()
	path := keyFile(t)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	first := ring(t, path).Primary().ID()
	unchanged := func(t *testing.T, before []byte) {
		t.Helper()
		after, err := os.ReadFile(path)
		if err != nil || string(after) != string(before) {
			t.Fatalf("a refused step changed the key file (%v)", err)
		}
	}
	read := func() []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	// 1. Add a decrypt-only key.
	r := crumb(t, "rotate", "add", at(0), path).want(t, exitOK)
	noSecrets(t, r.stdout+r.stderr, path)
	entries := ring(t, path).Entries()
	if len(entries) != 2 || entries[0].Key.ID() != first || entries[1].State != rotation.DecryptOnly || !entries[1].AddedAt.Equal(t0) {
		t.Fatalf("after add: %+v", entries)
	}
	second := entries[1].Key.ID()

	// 2. Promote it: refused before the propagation time, done after.
	before := read()
	r = crumb(t, "rotate", "promote", at(9*time.Minute), path).want(t, exitFail)
	if !strings.Contains(r.stderr, "-force") {
		t.Errorf("a refused promotion does not say how to force it: %q", r.stderr)
	}
	unchanged(t, before)
	crumb(t, "rotate", "promote", at(10*time.Minute), path).want(t, exitOK)
	rg := ring(t, path)
	if rg.Primary().ID() != second {
		t.Fatalf("after promote, the primary is %v, want %v", rg.Primary().ID(), second)
	}
	crumb(t, "rotate", "promote", at(11*time.Minute), path).want(t, exitFail) // nothing left to promote

	// 3. Retire the old key: refused while its cookies may be valid.
	retireAt := 10*time.Minute + 10*time.Minute + 14*24*time.Hour // demoted + propagation + lifetime
	before = read()
	crumb(t, "rotate", "retire", at(retireAt-time.Second), path).want(t, exitFail)
	unchanged(t, before)
	r = crumb(t, "rotate", "retire", at(retireAt), path).want(t, exitOK)
	if !strings.Contains(r.stdout, first.String()) {
		t.Errorf("retire says %q, want it to name %v", r.stdout, first)
	}
	if n := len(ring(t, path).Entries()); n != 1 {
		t.Fatalf("after retire, %d keys", n)
	}

	// The file kept its permissions and no temporary file is left.
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the key file's mode is %v (%v), want 0640 as before", fi.Mode().Perm(), err)
	}
	if names, _ := os.ReadDir(filepath.Dir(path)); len(names) != 1 {
		t.Errorf("the directory holds %d files after the rotation, want the key file alone", len(names))
	}
}

func TestRotateForceAndID(t *testing.T) {
	t.Parallel()
	path := keyFile(t)
	crumb(t, "rotate", "add", at(0), path).want(t, exitOK)
	crumb(t, "rotate", "add", at(time.Minute), path).want(t, exitOK)
	entries := ring(t, path).Entries()
	older := entries[1].Key.ID()

	// -id picks the older added key; -force promotes it at once.
	crumb(t, "rotate", "promote", "-id", older.String(), at(time.Minute), path).want(t, exitFail)
	crumb(t, "rotate", "promote", "-id", older.String(), "-force", at(time.Minute), path).want(t, exitOK)
	if got := ring(t, path).Primary().ID(); got != older {
		t.Fatalf("primary %v, want the key named by -id, %v", got, older)
	}
	crumb(t, "rotate", "promote", "-id", "zz", path).want(t, exitUsage)
	crumb(t, "rotate", "promote", "-id", "00000000", path).want(t, exitFail)
	crumb(t, "rotate", "retire", "-id", older.String(), "-force", path).want(t, exitFail) // the primary

	// -force retires the demoted key at once.
	r := crumb(t, "rotate", "retire", "-force", at(2*time.Minute), path).want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "retired ") {
		t.Errorf("retire -force says %q", r.stdout)
	}
	if n := len(ring(t, path).Entries()); n != 2 {
		t.Errorf("after retire -force, %d keys, want the primary and the key never promoted", n)
	}
}

// TestSecretsNeverEchoed: a key pasted where a command, a file name, an
// environment variable name or a flag value belongs is not echoed back.
func TestSecretsNeverEchoed(t *testing.T) {
	t.Parallel()
	path := keyFile(t)
	key := secretPart.FindString(crumb(t, "keygen", "-env").want(t, exitOK).stdout)
	secret := key[len(key)-43:]
	for _, args := range [][]string{
		{key},
		{"keyring", key},
		{"rotate", key, path},
		{"rotate", "add", key},
		{"rotate", "promote", "-propagation", key, path},
		{"inspect", "-keys", key, "x=1"},
		{"inspect", "-keys-env", key, "x=1"},
		{"seal", "-keys", key, `{"a":1}`},
	} {
		r := crumb(t, args...)
		if r.status == exitOK || strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("crumb %q: status %d, output shows the secret: %q", args[0], r.status, r.stderr)
		}
	}
}

func TestRefusedInput(t *testing.T) {
	t.Parallel()
	path := keyFile(t)
	for _, args := range [][]string{
		{"rotate", "promote", "-propagation=-1h", path},
		{"rotate", "retire", "-lifetime=-1h", path},
		{"keyring", "-skew=-1s", path},
		{"seal", "-keys", path, "{}"},
		{"seal", "-keys", path, "null"},
		{"seal", "-keys", path, `{"a":1} {"b":2}`},
	} {
		crumb(t, args...).want(t, exitUsage)
	}
}

// TestRotateFileHandling: a symbolic link is followed (its target is
// replaced, the link stays), the owner is kept, and a step refuses to run
// while another holds the file's lock.
func TestRotateFileHandling(t *testing.T) {
	t.Parallel()
	real := keyFile(t)
	link := filepath.Join(t.TempDir(), "keys-link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(real, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	crumb(t, "rotate", "add", link).want(t, exitOK)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file (%v)", err)
	}
	if n := len(ring(t, real).Entries()); n != 2 {
		t.Errorf("the link's target holds %d keys, want 2", n)
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(real)
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("the key file's owner changed")
		}
	}
	if err := os.WriteFile(real+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := crumb(t, "rotate", "add", real).want(t, exitFail)
	if !strings.Contains(r.stderr, "another crumb rotate") || len(ring(t, real).Entries()) != 2 {
		t.Errorf("with the lock held: %q", r.stderr)
	}
	os.Remove(real + ".lock")

	// Steps run at once: each either lands or is refused; none is lost.
	const n = 8
	done := make(chan bool, n)
	for range n {
		go func() {
			cmd := exec.Command(bin, "rotate", "add", real)
			done <- cmd.Run() == nil
		}()
	}
	added := 0
	for range n {
		if <-done {
			added++
		}
	}
	if got := len(ring(t, real).Entries()); got != 2+added || added == 0 {
		t.Errorf("%d concurrent adds reported success, the file holds %d keys, want %d", added, got, 2+added)
	}
}
