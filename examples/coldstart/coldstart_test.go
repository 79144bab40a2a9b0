package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
)

// The bounds are generous on purpose: they catch a key-stretching KDF, a
// per-request key derivation or heavy package initialisation, each of
// which costs tens to hundreds of milliseconds, and not a slow machine.
// A typical first request takes about 0.1 ms.
const (
	maxFirst = 20 * time.Millisecond // first request: Load, Set, Commit
	maxNew   = 5 * time.Millisecond  // cookiesession.New
	maxInit  = time.Millisecond      // one crumb or CBOR package's init
	runs     = 20                    // fresh processes measured
	attempts = 3                     // tries for a run over a bound, on a busy machine
)

// bin holds the programs under test, built once by TestMain.
var bin struct{ coldstart, hello, nethttp string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.coldstart = filepath.Join(dir, "coldstart")
	bin.hello = filepath.Join(dir, "hello")
	bin.nethttp = filepath.Join(dir, "nethttp")
	for pkg, out := range map[string]string{".": bin.coldstart, "./testdata/hello": bin.hello, "./testdata/nethttp": bin.nethttp} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, b)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env returns the test's environment with the key list keys (none if
// empty) and extra variables.
func env(keys string, extra ...string) []string {
	e := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CRUMB_KEYS=") })
	if keys != "" {
		e = append(e, "CRUMB_KEYS="+keys)
	}
	return append(e, extra...)
}

// run runs the program at path as a fresh process and returns its standard
// output and error and the wall time the run took.
func run(t *testing.T, path string, env []string) (stdout, stderr []byte, wall time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	wall = time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(path), err, e.Bytes())
	}
	return o.Bytes(), e.Bytes(), wall
}

func keyList(t *testing.T) string {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return "primary " + k.SecretText()
}

func us(f float64) time.Duration { return time.Duration(f * 1e3) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestColdStart runs the program as fresh processes and checks that no
// phase does expensive work: building a Manager takes less than maxNew and
// the first request less than maxFirst, in every run. A run over a bound
// is tried again, up to attempts times, before the test fails: a busy
// machine may deschedule a process for a while, but a slow KDF is slow
// every time.
func TestColdStart(t *testing.T) {
	keys := keyList(t)
	var keysUS, newUS, firstUS, secondUS []float64
	for i := range runs {
		var tm timings
		for a := 1; ; a++ {
			out, _, _ := run(t, bin.coldstart, env(keys))
			tm = timings{}
			if err := json.Unmarshal(out, &tm); err != nil {
				t.Fatalf("run %d: output %q: %v", i, out, err)
			}
			if strings.Contains(string(out), "crumbkey") {
				t.Fatalf("run %d: the output contains a key", i)
			}
			if tm.Throwaway || tm.Keys <= 0 || tm.New <= 0 || tm.First <= 0 || tm.Second <= 0 {
				t.Fatalf("run %d: %+v: want the given keys and positive durations", i, tm)
			}
			over := us(tm.First) >= maxFirst || us(tm.New) >= maxNew
			if !over {
				break
			}
			if a == attempts {
				t.Fatalf("run %d: New %v (limit %v), first request %v (limit %v), over a bound in %d fresh processes in a row",
					i, us(tm.New), maxNew, us(tm.First), maxFirst, attempts)
			}
			t.Logf("run %d, attempt %d: New %v, first request %v: over a bound, trying again", i, a, us(tm.New), us(tm.First))
		}
		keysUS = append(keysUS, tm.Keys)
		newUS = append(newUS, tm.New)
		firstUS = append(firstUS, tm.First)
		secondUS = append(secondUS, tm.Second)
	}
	t.Logf("medians of %d fresh processes: keys %.1f µs, New %.1f µs, first request (seal) %.1f µs, second request (open) %.1f µs",
		runs, median(keysUS), median(newUS), median(firstUS), median(secondUS))
	t.Logf("worst: keys %.1f µs, New %.1f µs, first request %.1f µs, second request %.1f µs",
		slices.Max(keysUS), slices.Max(newUS), slices.Max(firstUS), slices.Max(secondUS))

	// Without keys the program generates one: still cheap, and said so.
	out, _, _ := run(t, bin.coldstart, env(""))
	var tm timings
	if err := json.Unmarshal(out, &tm); err != nil || !tm.Throwaway {
		t.Fatalf("no CRUMB_KEYS: output %q (%v), want a throwaway key", out, err)
	}
}

// initLine matches a line of GODEBUG=inittrace=1 output (runtime/proc.go):
// "init <package> @<start> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs".
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

type initTrace struct {
	pkg           string
	clock         float64 // ms
	bytes, allocs int
}

func parseInitTrace(stderr []byte) []initTrace {
	var trace []initTrace
	for line := range strings.Lines(string(stderr)) {
		m := initLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		clock, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.Atoi(m[4])
		a, _ := strconv.Atoi(m[5])
		trace = append(trace, initTrace{m[1], clock, b, a})
	}
	return trace
}

// TestPackageInit checks, with GODEBUG=inittrace=1, that no crumb or CBOR
// package does more than maxInit of work at initialisation. Packages with
// nothing to initialise print no line. An attempt over the bound is
// repeated, as in TestColdStart.
func TestPackageInit(t *testing.T) {
	ours := func(pkg string) bool {
		return strings.HasPrefix(pkg, "github.com/crumbhq/crumb/") || strings.HasPrefix(pkg, "github.com/fxamacker/cbor/")
	}
	godebug := "inittrace=1"
	if v := os.Getenv("GODEBUG"); v != "" {
		godebug = v + "," + godebug
	}
	keys := keyList(t)
	for a := 1; ; a++ {
		_, stderr, _ := run(t, bin.coldstart, env(keys, "GODEBUG="+godebug))
		trace := parseInitTrace(stderr)
		if !slices.ContainsFunc(trace, func(it initTrace) bool { return it.pkg == "runtime" }) {
			t.Fatalf("no init line for runtime: is the inittrace format still %v?\n%s", initLine, stderr)
		}
		var total float64
		var over []string
		var report strings.Builder
		for _, it := range trace {
			total += it.clock
			if !ours(it.pkg) {
				continue
			}
			fmt.Fprintf(&report, "\n\t%s: %.3f ms clock, %d bytes, %d allocs", it.pkg, it.clock, it.bytes, it.allocs)
			if time.Duration(it.clock*float64(time.Millisecond)) >= maxInit {
				over = append(over, fmt.Sprintf("%s %.3f ms", it.pkg, it.clock))
			}
		}
		if len(over) == 0 {
			t.Logf("package init, crumb and CBOR (packages not listed do no init work):%s", report.String())
			t.Logf("all %d initialised packages together: %.3f ms clock", len(trace), total)
			return
		}
		if a == attempts {
			t.Fatalf("package init over %v in %d runs in a row: %s", maxInit, attempts, strings.Join(over, ", "))
		}
		t.Logf("attempt %d: package init over %v: %s; trying again", a, maxInit, strings.Join(over, ", "))
	}
}

// TestProcessWallTime reports (and does not check) the wall time of a
// whole fresh process, from start to exit as seen by the parent: the
// coldstart program against a Go program that only prints {} and the same
// with net/http linked in. The runs alternate, so that a change in machine
// load affects all alike.
func TestProcessWallTime(t *testing.T) {
	const n = 50
	keys := keyList(t)
	var hello, nethttp, crumb []float64
	for range n {
		_, _, w := run(t, bin.hello, env(""))
		hello = append(hello, float64(w.Microseconds()))
		_, _, w = run(t, bin.nethttp, env(""))
		nethttp = append(nethttp, float64(w.Microseconds()))
		_, _, w = run(t, bin.coldstart, env(keys))
		crumb = append(crumb, float64(w.Microseconds()))
	}
	t.Logf("whole process, median of %d runs: hello %.0f µs, hello with net/http %.0f µs, coldstart (keys, New, 2 requests) %.0f µs",
		n, median(hello), median(nethttp), median(crumb))
	for _, path := range []string{bin.hello, bin.nethttp, bin.coldstart} {
		if fi, err := os.Stat(path); err == nil {
			t.Logf("%s binary: %d bytes", filepath.Base(path), fi.Size())
		}
	}
}
