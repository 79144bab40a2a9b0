package main

// The command is tested as a program: TestMain builds it once, and each
// test runs the binary and checks its output, its exit status and the key
// file it leaves.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin is the crumb binary TestMain built.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "crumb-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "crumb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building crumb: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	status         int
}

// crumb runs the binary with args.
func crumb(t *testing.T, args ...string) result {
	t.Helper()
	return crumbEnv(t, nil, args...)
}

// crumbEnv runs the binary with args and env added to its environment.
func crumbEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	status := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), status}
}

// want fails unless r exited with status.
func (r result) want(t *testing.T, status int) result {
	t.Helper()
	if r.status != status {
		t.Fatalf("exit status %d, want %d; stdout %q, stderr %q", r.status, status, r.stdout, r.stderr)
	}
	return r
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"keygen", "extra"},
		{"keygen", "-env", "-master"},
		{"keygen", "-nope"},
		{"keyring"},
		{"keyring", "a", "b"},
		{"rotate"},
		{"rotate", "spin", "file"},
		{"rotate", "add"},
		{"keyring", "-now", "yesterday", "file"},
	} {
		r := crumb(t, args...)
		if r.status != exitUsage || !bytes.Contains([]byte(r.stderr), []byte("usage:")) {
			t.Errorf("crumb %q: status %d, stderr %q; want %d and the usage", args, r.status, r.stderr, exitUsage)
		}
	}
	if r := crumb(t, "help").want(t, exitOK); !bytes.Contains([]byte(r.stdout), []byte("crumb keygen")) {
		t.Errorf("crumb help printed %q", r.stdout)
	}
}
