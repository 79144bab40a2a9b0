//go:build unix

package main

// These tests run the js/wasm build inside real edge runtimes, workerd
// (Cloudflare's Workers runtime, through workerd/config.capnp and
// workerd/worker.mjs) and Deno (deno/main.mjs, Deno.serve), and drive each
// over loopback HTTP through one scenario: a counter session, login,
// logout, a note too large for the cookie, tampered, expired and foreign
// cookies, a cookie sealed by the native build under a key since demoted,
// which must come back re-sealed under the new primary. The same scenario
// runs against the native middleware (Manager.Handler around the same
// route), and every runtime's answers must match it: status, body,
// Set-Cookie attributes, Vary, Cache-Control. Cookies cross between the
// native build and each runtime both ways.
//
// The runtimes come from npm (.ci/run installs the pinned versions):
//
//	npm install --prefix ~/.cache/crumb-edge workerd@1.20261117.1 deno@2.9.6
//	PATH=~/.cache/crumb-edge/node_modules/.bin:$PATH go test ./examples/edge
//
// Without them the tests skip, unless CRUMB_REQUIRE_EDGE=1.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// requireTool finds a runtime's command on PATH, or skips the test saying
// how to install it (or fails, with CRUMB_REQUIRE_EDGE=1).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not on PATH: npm install --prefix ~/.cache/crumb-edge workerd@1.20261117.1 deno@2.9.6, " +
			"then PATH=~/.cache/crumb-edge/node_modules/.bin:$PATH go test ./examples/edge"
		if os.Getenv("CRUMB_REQUIRE_EDGE") == "1" {
			t.Fatal("CRUMB_REQUIRE_EDGE=1 but " + msg)
		}
		t.Skip(msg)
	}
	// npm installs a Node script in place of the binary when its install
	// scripts do not run; the script neither passes file descriptors on
	// nor dies with its child. Use the binary.
	if head, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		t.Fatalf("%s is not the %s binary (a script wrapper? npm did not run its install scripts): put the binary on PATH, as .ci/run does", path, name)
	}
	return path
}

// edgeKeys are the keys of the scenario: old sealed the foreign cookie and
// is decrypt-only in every host; primary seals.
type edgeKeys struct {
	old, primary *crypto.Key
	list         string // the key list every host gets: primary; decrypt-only old
}

func newEdgeKeys(t *testing.T) edgeKeys {
	t.Helper()
	var k edgeKeys
	var err error
	if k.old, err = crypto.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	if k.primary, err = crypto.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	k.list = "primary " + k.primary.SecretText() + "; decrypt-only " + k.old.SecretText()
	return k
}

// manager returns a native Manager over ring, with an optional clock.
func (k edgeKeys) manager(t *testing.T, clock func() time.Time, primary *crypto.Key, decryptOnly ...*crypto.Key) *cookiesession.Manager {
	t.Helper()
	ring, err := rotation.NewKeyring(primary, decryptOnly...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cookiesession.New(cookiesession.Config{Keys: ring, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nativeServer serves route through the native middleware, as a net/http
// application would: the reference for every runtime.
func nativeServer(t *testing.T, keys edgeKeys) string {
	t.Helper()
	m := keys.manager(t, nil, keys.primary, keys.old)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := cookiesession.FromContext(r.Context())
		body, err := io.ReadAll(io.LimitReader(r.Body, maxNote+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		status, respBody := route(s, r.Method, r.URL.Path, string(body), w.Header())
		w.WriteHeader(status)
		io.WriteString(w, respBody+"\n")
	})))
	t.Cleanup(srv.Close)
	return srv.URL
}

// bundle assembles a directory holding the js/wasm build wasm, Go's
// wasm_exec.js and the files of dir (workerd/ or deno/), and returns it
// with the gzip -9 size of what a deployment uploads (the JavaScript
// modules and the WebAssembly binary).
func bundle(t *testing.T, dir, wasm string) (string, int) {
	t.Helper()
	out := t.TempDir()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	copyTo := func(from, to string) []byte {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	var upload bytes.Buffer
	upload.Write(copyTo(wasm, "edge.wasm"))
	upload.Write(copyTo(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"), "wasm_exec.js"))
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b := copyTo(filepath.Join(dir, f.Name()), f.Name())
		if strings.HasSuffix(f.Name(), ".mjs") {
			upload.Write(b)
		}
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(upload.Bytes())
	zw.Close()
	return out, z.Len()
}

// startWorkerd serves the bundle in workerd on a loopback listener the
// test opens and hands over (--socket-fd), so there is no port to wait
// for: the first request waits for workerd itself. It returns the URL and
// when the process started.
func startWorkerd(t *testing.T, bin, dir, keys string) (string, time.Time) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // the child holds its own copy of the socket
	cmd := command(t, 5*time.Minute, []string{"CRUMB_KEYS=" + keys}, bin, "serve", "config.capnp", "--socket-fd", "http=3")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{f}
	logs := startLogged(t, cmd)
	f.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("workerd's output:\n%s", logs)
		}
	})
	return url, time.Now()
}

// startDeno serves the bundle with deno/main.mjs on a free port and
// returns its URL, when the process started, and the start-up figures it
// printed.
func startDeno(t *testing.T, bin, dir, keys string) (string, time.Time, string) {
	t.Helper()
	cmd := command(t, 5*time.Minute, []string{"CRUMB_KEYS=" + keys, "PORT=0", "DENO_NO_UPDATE_CHECK=1", "DENO_DIR=" + t.TempDir()},
		bin, "run", "--allow-read="+dir, "--allow-env=CRUMB_KEYS,PORT", "--allow-net=127.0.0.1", "main.mjs")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	logs := startLogged(t, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("deno printed no address: %v\n%s", err, logs)
	}
	go io.Copy(io.Discard, stdout)
	m := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)/ \((.*)\)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("deno's first line %q does not say where it listens", line)
	}
	return m[1], started, m[2]
}

// startLogged starts cmd with its standard error kept, and stops it at
// the end of the test.
func startLogged(t *testing.T, cmd *exec.Cmd) *lockedBuffer {
	t.Helper()
	logs := new(lockedBuffer)
	cmd.Stderr = logs
	if cmd.Stdout == nil {
		cmd.Stdout = logs
	}
	// Its own process group, killed whole at the end: a runtime's helper
	// processes go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return logs
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// exchange is one request and what came back, normalised for comparison
// across hosts: cookie values and the Expires date of a live cookie vary
// (the date is checked against Max-Age instead), the rest must not.
type exchange struct {
	Step         string
	Status       int
	Body         string
	SetCookie    []string // each line with its value, and a live cookie's Expires, replaced
	Vary         []string
	CacheControl []string
	ContentType  string
	Allow        string
}

var (
	cookieValue = regexp.MustCompile(`^([^=]+)=[^;]+`)
	expires     = regexp.MustCompile(`; Expires=([^;]+)`)
)

// fields returns every value of a header field, each comma-separated
// element on its own, in order: what two hosts send must match whole.
func fields(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for e := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// client sends the scenario's requests to one host.
type client struct {
	t     *testing.T
	url   string
	http  *http.Client
	log   []exchange
	times []time.Duration
	first time.Time // when the first response arrived
}

// send makes a request with the given Cookie header (lines separated by
// "\n" are sent as separate Cookie fields) and body, records the
// normalised exchange under step (unless step is ""), and returns the
// response's status, body and session cookie pair ("" if none set).
func (c *client) send(step, method, path, cookie, body string) (int, string, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for line := range strings.SplitSeq(cookie, "\n") {
		if line != "" {
			req.Header.Add("Cookie", line) // several lines: several Cookie fields
		}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.times = append(c.times, time.Since(start))
	if c.first.IsZero() {
		c.first = time.Now()
	}
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	if resp.StatusCode >= 500 {
		c.t.Fatalf("%s: %s %s", step, resp.Status, b)
	}
	e := exchange{Step: step, Status: resp.StatusCode, Body: string(b), Vary: fields(resp.Header, "Vary"),
		CacheControl: fields(resp.Header, "Cache-Control"), ContentType: resp.Header.Get("Content-Type"), Allow: resp.Header.Get("Allow")}
	pair := ""
	for _, line := range resp.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			c.t.Fatalf("%s: a Set-Cookie line does not parse: %v", step, err)
		}
		norm := cookieValue.ReplaceAllString(line, "$1=VALUE")
		if ck.MaxAge > 0 {
			// A live cookie's Expires is now + Max-Age, to the second.
			if d := time.Until(ck.Expires) - time.Duration(ck.MaxAge)*time.Second; d < -5*time.Second || d > 5*time.Second {
				c.t.Errorf("%s: Expires %v is not now + Max-Age %d", step, ck.Expires, ck.MaxAge)
			}
			norm = expires.ReplaceAllString(norm, "; Expires=DATE")
		}
		e.SetCookie = append(e.SetCookie, norm)
		if ck.MaxAge >= 0 && ck.Value != "" {
			pair = ck.Name + "=" + ck.Value
		}
	}
	slices.Sort(e.SetCookie)
	if step != "" {
		c.log = append(c.log, e)
	}
	return resp.StatusCode, string(b), pair
}

// want checks a status and a body.
func (c *client) want(step string, status int, body string, gotStatus int, gotBody string) {
	c.t.Helper()
	if gotStatus != status || gotBody != body+"\n" {
		c.t.Errorf("%s: %d %q, want %d %q", step, gotStatus, gotBody, status, body+"\n")
	}
}

// scenario runs the whole scenario against url and returns the
// normalised exchanges and the request times.
func scenario(t *testing.T, url string, keys edgeKeys) *client {
	t.Helper()
	c := &client{t: t, url: url, http: &http.Client{Timeout: time.Minute}}
	native := keys.manager(t, nil, keys.primary, keys.old)
	open := func(pair string) *cookiesession.Session { return native.Load(context.Background(), pair) }

	st, body, c1 := c.send("first visit", "GET", "/count", "", "")
	c.want("first visit", 200, `{"count":1}`, st, body)
	st, body, c2 := c.send("second visit", "GET", "/count", c1, "")
	c.want("second visit", 200, `{"count":2}`, st, body)

	st, body, c3 := c.send("login", "POST", "/login", c2, "user=ann")
	c.want("login", 200, `{"user":"ann"}`, st, body)
	if s2, s3 := open(c2), open(c3); s3.ID() == "" || s3.ID() == s2.ID() {
		t.Errorf("login: session ID empty (%v) or unchanged (%v): want a new one (CycleKey)", s3.ID() == "", s3.ID() == s2.ID())
	}
	st, body, c4 := c.send("logged in", "GET", "/count", c3, "")
	c.want("logged in", 200, `{"count":3,"user":"ann"}`, st, body)

	// The host's cookie opens natively, with what the host stored.
	if n, _, _ := cookiesession.Get[int](open(c4), "count"); n != 3 {
		t.Errorf("the host's cookie, opened natively: count %d, want 3", n)
	}
	st, body, _ = c.send("other cookies around it", "GET", "/count", "theme=dark; "+c4+"; lang=en", "")
	c.want("other cookies around it", 200, `{"count":4,"user":"ann"}`, st, body)
	// Two Cookie fields, as HTTP/2 clients send them: Fetch API hosts join
	// them with ", ".
	st, body, _ = c.send("two Cookie fields", "GET", "/count", "theme=dark\n"+c4, "")
	c.want("two Cookie fields", 200, `{"count":4,"user":"ann"}`, st, body)

	// Every one-character change and every truncation of the value gives
	// a fresh session, never an error.
	name, value, _ := strings.Cut(c4, "=")
	fresh := 0
	for i := range len(value) {
		for j, v := range []string{value[:i] + string("AB"[boolInt(value[i] == 'A')]) + value[i+1:], value[:i]} {
			step := "" // the first few are compared whole, the rest by body
			if i < 3 {
				step = fmt.Sprintf("tampered %d.%d", i, j)
			}
			st, body, _ = c.send(step, "GET", "/count", name+"="+v, "")
			if st == 200 && body == "{\"count\":1}\n" {
				fresh++
			} else {
				t.Errorf("tampered at %d: %d %q, want a fresh session", i, st, body)
			}
		}
	}
	c.log = append(c.log, exchange{Step: fmt.Sprintf("%d tampered values: all fresh sessions", fresh)})

	// A cookie past its deadline, sealed natively with a clock 15 days
	// back (the lifetime is 14 days), opens to a fresh session.
	old := keys.manager(t, func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }, keys.primary)
	st, body, _ = c.send("expired", "GET", "/count", seal(t, old, map[string]any{"count": 7}), "")
	c.want("expired", 200, `{"count":1}`, st, body)

	// A cookie sealed natively under the key since demoted opens, and
	// comes back sealed under the primary: it opens with the primary
	// alone.
	foreign := seal(t, keys.manager(t, nil, keys.old), map[string]any{"count": 41, "user": "zoe"})
	st, body, resealed := c.send("sealed by the demoted key", "GET", "/count", foreign, "")
	c.want("sealed by the demoted key", 200, `{"count":42,"user":"zoe"}`, st, body)
	if n, _, err := cookiesession.Get[int](keys.manager(t, nil, keys.primary).Load(context.Background(), resealed), "count"); n != 42 || err != nil {
		t.Errorf("the re-sealed cookie, opened with the primary key alone: count %d, %v; want 42", n, err)
	}

	// A note that fits; then one that does not: 413, and the session as
	// it was.
	st, body, c5 := c.send("a note", "POST", "/note", c4, strings.Repeat("n", 100))
	c.want("a note", 200, `{"note":100}`, st, body)
	st, body, _ = c.send("a note too large", "POST", "/note", c5, strings.Repeat("n", 4000))
	if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"error":"session too large"`) {
		t.Errorf("a note too large: %d %q, want 413 session too large", st, body)
	}
	st, body, _ = c.send("a body over the limit", "POST", "/note", c5, strings.Repeat("n", maxNote+100))
	c.want("a body over the limit", 413, `{"error":"note too long"}`, st, body)
	st, body, _ = c.send("after the refused note", "GET", "/count", c5, "")
	c.want("after the refused note", 200, `{"count":4,"user":"ann"}`, st, body)
	if note, _, _ := cookiesession.Get[string](open(c5), "note"); len(note) != 100 {
		t.Errorf("the note in the session: %d bytes, want 100", len(note))
	}

	st, body, _ = c.send("logout", "POST", "/logout", c5, "")
	c.want("logout", 200, `{"loggedOut":true}`, st, body)
	st, _, _ = c.send("unknown path", "GET", "/nowhere", c5, "")
	if st != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", st)
	}
	st, _, _ = c.send("wrong method", "POST", "/count", c5, "")
	if st != http.StatusMethodNotAllowed {
		t.Errorf("wrong method: %d, want 405", st)
	}
	st, body, _ = c.send("login without a name", "POST", "/login", "", "user=")
	if st != http.StatusBadRequest {
		t.Errorf("login without a name: %d %q, want 400", st, body)
	}
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEdgeRuntimes runs the scenario in the native middleware, then in
// workerd and in Deno, one after the other (so that each start-up is timed
// alone), and compares every exchange with the native one.
func TestEdgeRuntimes(t *testing.T) {
	t.Parallel()
	keys := newEdgeKeys(t)
	ref := scenario(t, nativeServer(t, keys), keys)
	if t.Failed() {
		t.Fatal("the native reference failed")
	}
	compare := func(t *testing.T, c *client) {
		t.Helper()
		if len(c.log) != len(ref.log) {
			t.Fatalf("%d exchanges, native %d", len(c.log), len(ref.log))
		}
		for i := range ref.log {
			got, want := c.log[i], ref.log[i]
			if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
				t.Errorf("%s: differs from the native middleware:\n got %s\nwant %s", want.Step, g, w)
			}
		}
	}
	later := func(c *client) time.Duration {
		l := slices.Clone(c.times[1:])
		slices.Sort(l)
		return l[len(l)/2].Round(time.Microsecond)
	}
	var wasm string
	tools := map[string]string{}
	for _, name := range []string{"workerd", "deno"} {
		if path, err := exec.LookPath(name); err == nil || os.Getenv("CRUMB_REQUIRE_EDGE") == "1" {
			tools[name] = path
		}
	}
	if len(tools) > 0 {
		wasm = buildWasm(t, "js")
	}

	t.Run("workerd", func(t *testing.T) {
		bin := requireTool(t, "workerd")
		dir, size := bundle(t, "workerd", wasm)
		url, started := startWorkerd(t, bin, dir, keys.list)
		// /-/ready answers without starting Go: workerd's start and the
		// module's compile, then the Go program's start in the first
		// request of the scenario.
		ready := &client{t: t, url: url, http: &http.Client{Timeout: time.Minute}}
		if st, body, _ := ready.send("", "GET", "/-/ready", "", ""); st != 200 || body != "ready\n" {
			t.Fatalf("/-/ready: %d %q", st, body)
		}
		c := scenario(t, url, keys)
		compare(t, c)
		t.Logf("workerd %s: first response %v after the process started (the Worker loaded: workerd's start and the module's compile; "+
			"Worker upload %d bytes gzip -9, %.2f MiB); first request %v (the Go program's start, then the request); later requests median %v (%d requests)",
			toolVersion(bin, "--version"), ready.first.Sub(started).Round(time.Millisecond), size, float64(size)/(1<<20),
			c.times[0].Round(time.Millisecond), later(c), len(c.times))
	})
	t.Run("deno", func(t *testing.T) {
		bin := requireTool(t, "deno")
		dir, _ := bundle(t, "deno", wasm)
		url, started, figures := startDeno(t, bin, dir, keys.list)
		listening := time.Since(started)
		c := scenario(t, url, keys)
		compare(t, c)
		t.Logf("deno %s: listening %v after the process started (in main.mjs: %s); first request %v; later requests median %v (%d requests)",
			toolVersion(bin, "--version"), listening.Round(time.Millisecond), figures, c.times[0].Round(time.Millisecond), later(c), len(c.times))
	})
	// Without keys, neither host serves with a throwaway key.
	t.Run("no keys", func(t *testing.T) {
		if _, ok := tools["workerd"]; ok {
			dir, _ := bundle(t, "workerd", wasm)
			url, _ := startWorkerd(t, requireTool(t, "workerd"), dir, "")
			resp, err := (&http.Client{Timeout: time.Minute}).Get(url + "/count")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("workerd without CRUMB_KEYS: %s, %d cookies set; want 500 and none", resp.Status, len(resp.Header.Values("Set-Cookie")))
			}
		}
		if _, ok := tools["deno"]; ok {
			dir, _ := bundle(t, "deno", wasm)
			cmd := command(t, time.Minute, []string{"CRUMB_KEYS=", "PORT=0", "DENO_NO_UPDATE_CHECK=1", "DENO_DIR=" + t.TempDir()},
				requireTool(t, "deno"), "run", "--allow-read="+dir, "--allow-env=CRUMB_KEYS,PORT", "--allow-net=127.0.0.1", "main.mjs")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "CRUMB_KEYS is not set") {
				t.Errorf("deno without CRUMB_KEYS: %v, %q; want it to refuse to start", err, out)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func toolVersion(bin, flag string) string {
	b, _ := exec.Command(bin, flag).Output()
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
