//go:build !js && !wasip1

package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// These tests build the handler for WebAssembly and run it under Node, the
// js/wasm build through testdata/run.mjs and the wasip1 build through
// Node's WASI (testdata/wasi.mjs). Without node on PATH they are skipped,
// unless CRUMB_REQUIRE_NODE=1.

func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CRUMB_REQUIRE_NODE") == "1" {
			t.Fatal("CRUMB_REQUIRE_NODE=1 but node is not on PATH")
		}
		t.Skip("node is not on PATH; set CRUMB_REQUIRE_NODE=1 to require it")
	}
	return node
}

// command returns cmd with a timeout, run in the package directory, with
// the test's environment less any keys, plus env.
func command(t *testing.T, timeout time.Duration, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CRUMB_KEYS=") || strings.HasPrefix(kv, "CRUMB_SEED_COOKIE=")
	})
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// buildWasm builds this package for GOOS=goos GOARCH=wasm as size.sh does
// and returns the binary's path.
func buildWasm(t *testing.T, goos string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "edge-"+goos+".wasm")
	cmd := command(t, 5*time.Minute, []string{"GOOS=" + goos, "GOARCH=wasm"},
		"go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=%s GOARCH=wasm go build: %v\n%s", goos, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	t.Logf("GOOS=%s wasm: %d bytes (%.2f MiB), gzip -9: %d bytes (%.2f MiB)",
		goos, len(b), float64(len(b))/(1<<20), z.Len(), float64(z.Len())/(1<<20))
	return out
}

func keyList(t *testing.T) string {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return "primary " + k.SecretText()
}

func managerFor(t *testing.T, keys string) *cookiesession.Manager {
	t.Helper()
	kr, err := rotation.ParseKeys("test", keys)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cookiesession.New(cookiesession.Config{Keys: kr})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary is the JSON line testdata/run.mjs prints.
type summary struct {
	OK     bool `json:"ok"`
	Counts struct {
		First    int   `json:"first"`
		Second   int   `json:"second"`
		Tampered []int `json:"tampered"`
		Seeded   int   `json:"seeded"`
	} `json:"counts"`
	Cookie               string   `json:"cookie"`
	FirstSetCookieAttrs  []string `json:"firstSetCookieAttrs"`
	LogoutSetCookieAttrs []string `json:"logoutSetCookieAttrs"`
	WarnedThrowaway      bool     `json:"warnedThrowaway"`
	WasmBytes            int      `json:"wasmBytes"`

	FetchAPIMs      float64 `json:"fetchApiMs"`
	CompileMs       float64 `json:"compileMs"`
	StartMs         float64 `json:"startMs"`
	FirstRequestMs  float64 `json:"firstRequestMs"`
	SecondRequestMs float64 `json:"secondRequestMs"`
	SteadyRequestMs float64 `json:"steadyRequestMs"`
}

func TestFetchUnderNode(t *testing.T) {
	node := requireNode(t)
	t.Parallel()
	wasm := buildWasm(t, "js")
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	wasmExec := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")

	run := func(t *testing.T, env ...string) summary {
		t.Helper()
		cmd := command(t, 2*time.Minute, env, node, "testdata/run.mjs", wasm, wasmExec)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("node testdata/run.mjs: %v\nstderr:\n%s", err, stderr.Bytes())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var s summary
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || !s.OK {
			// The summary holds a live session cookie: never print it.
			t.Fatalf("summary %q: %v, ok %v", regexp.MustCompile(`"cookie":"[^"]*"`).ReplaceAllString(lines[len(lines)-1], `"cookie":"<redacted>"`), err, s.OK)
		}
		if s.Counts.First != 1 || s.Counts.Second != 2 || slices.ContainsFunc(s.Counts.Tampered, func(n int) bool { return n != 1 }) {
			t.Errorf("counts: first %d, second %d, tampered %v; want 1, 2, all 1", s.Counts.First, s.Counts.Second, s.Counts.Tampered)
		}
		for _, want := range []string{"Path", "Max-Age", "HttpOnly", "Secure", "SameSite"} {
			if !slices.Contains(s.FirstSetCookieAttrs, want) {
				t.Errorf("session cookie attributes %q lack %s", s.FirstSetCookieAttrs, want)
			}
		}
		if !slices.Contains(s.LogoutSetCookieAttrs, "Max-Age=0") {
			t.Errorf("deletion cookie attributes %q lack Max-Age=0", s.LogoutSetCookieAttrs)
		}
		t.Logf("Node %s: Fetch API warm-up %.1f ms (Node's, before the module); compile+instantiate %.1f ms; "+
			"Go start (runtime, init, main) %.1f ms; first request %.2f ms, second %.2f ms, steady median %.2f ms",
			nodeVersion(node), s.FetchAPIMs, s.CompileMs, s.StartMs, s.FirstRequestMs, s.SecondRequestMs, s.SteadyRequestMs)
		return s
	}

	t.Run("keys", func(t *testing.T) {
		keys := keyList(t)
		m := managerFor(t, keys)
		// A cookie sealed natively, to be opened by the wasm module.
		seed := seal(t, m, map[string]any{"count": 41})
		s := run(t, "CRUMB_KEYS="+keys, "CRUMB_SEED_COOKIE="+seed)
		if s.WarnedThrowaway {
			t.Error("the module warned of a throwaway key although CRUMB_KEYS was set")
		}
		if s.Counts.Seeded != 42 {
			t.Errorf("count from a natively sealed 41 = %d, want 42", s.Counts.Seeded)
		}
		// And the module's cookie opens natively.
		n, ok, err := cookiesession.Get[int](m.Load(context.Background(), s.Cookie), "count")
		if n != 2 || !ok || err != nil {
			t.Errorf("count in the module's cookie, opened natively = %d, %v, %v; want 2", n, ok, err)
		}
	})

	t.Run("throwaway", func(t *testing.T) {
		s := run(t)
		if !s.WarnedThrowaway {
			t.Error("no CRUMB_KEYS, and no console.warn about a throwaway key")
		}
		if _, ok, _ := cookiesession.Get[int](managerFor(t, keyList(t)).Load(context.Background(), s.Cookie), "count"); ok {
			t.Error("a cookie sealed under the throwaway key opened under another key")
		}
	})
}

// seal returns a Cookie pair for a session holding data, sealed natively.
func seal(t *testing.T, m *cookiesession.Manager, data map[string]any) string {
	t.Helper()
	s := m.Load(context.Background())
	for k, v := range data {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := http.Header{}
	if err := m.Commit(s, http.StatusOK, h); err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	return c.Name + "=" + c.Value
}

func nodeVersion(node string) string {
	b, _ := exec.Command(node, "--version").Output()
	return strings.TrimSpace(string(b))
}

// wasiResponse is one response of the wasip1 command.
type wasiResponse struct {
	status    string
	setCookie []string
	header    textproto.MIMEHeader
	body      string
	stderr    string
}

func TestWASIUnderNode(t *testing.T) {
	node := requireNode(t)
	t.Parallel()
	wasm := buildWasm(t, "wasip1")

	run := func(t *testing.T, env []string, stdin string, args ...string) wasiResponse {
		t.Helper()
		cmd := command(t, time.Minute, env, node, append([]string{"--no-warnings", "testdata/wasi.mjs", wasm}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("node testdata/wasi.mjs %s: %v\nstderr:\n%s", args, err, stderr.Bytes())
		}
		r := bufio.NewReader(&stdout)
		h, err := textproto.NewReader(r).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("response header: %v\n%s", err, stdout.Bytes())
		}
		var body strings.Builder
		r.WriteTo(&body)
		return wasiResponse{status: h.Get("Status"), setCookie: h.Values("Set-Cookie"), header: h, body: body.String(), stderr: stderr.String()}
	}
	cookieOf := func(t *testing.T, r wasiResponse) string {
		t.Helper()
		if len(r.setCookie) != 1 {
			t.Fatalf("Set-Cookie = %q, want one line", r.setCookie)
		}
		c, err := http.ParseSetCookie(r.setCookie[0])
		if err != nil || c.Name != "__Host-sessionid" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("Set-Cookie %q (%v) lacks crumb's defaults", r.setCookie[0], err)
		}
		return "Cookie: " + c.Name + "=" + c.Value + "\n"
	}
	want := func(t *testing.T, what string, r wasiResponse, status, body string) {
		t.Helper()
		if r.status != status || r.body != body+"\n" {
			t.Fatalf("%s = %s %q, want %s %q", what, r.status, r.body, status, body+"\n")
		}
	}

	keys := []string{"CRUMB_KEYS=" + keyList(t)}
	r := run(t, keys, "")
	want(t, "first GET /count", r, "200 OK", `{"count":1}`)
	if r.header.Get("Vary") != "Cookie" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Vary %q, Cache-Control %q; want Cookie, no-store", r.header.Get("Vary"), r.header.Get("Cache-Control"))
	}
	first := cookieOf(t, r)
	// Every run is a fresh instance: the keys, not memory, carry the session.
	r = run(t, keys, first, "GET", "/count")
	want(t, "second GET /count", r, "200 OK", `{"count":2}`)
	second := cookieOf(t, r)

	r = run(t, keys, second, "POST", "/logout")
	want(t, "POST /logout", r, "200 OK", `{"loggedOut":true}`)
	if len(r.setCookie) != 1 || !strings.HasPrefix(r.setCookie[0], "__Host-sessionid=;") || !strings.Contains(r.setCookie[0], "; Max-Age=0") {
		t.Errorf("logout Set-Cookie = %q, want a deletion", r.setCookie)
	}

	// Without keys, each instance makes its own: yesterday's cookie is void.
	r = run(t, nil, second)
	want(t, "GET /count with no keys", r, "200 OK", `{"count":1}`)
	if !strings.Contains(r.stderr, "throwaway key") {
		t.Errorf("no CRUMB_KEYS, and stderr does not mention a throwaway key: %q", r.stderr)
	}
}
