package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Names the example server gives its cookies.
const (
	cookieName = "__Host-sessionid"
	// testTimeout bounds each test's browser work; a hung page fails the
	// test instead of the whole run.
	testTimeout = 2 * time.Minute
)

var (
	// serverBin is the examples/basic binary, built once by TestMain.
	serverBin string
	// browserPath is the Chromium binary, "" when there is none.
	browserPath string
	// browsers lets at most two browsers run at once (CI has 2 cores).
	browsers = make(chan struct{}, 2)
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	browserPath = findBrowser()
	if browserPath == "" {
		if os.Getenv("CRUMB_REQUIRE_BROWSER") == "1" {
			fmt.Fprintln(os.Stderr, "e2e: CRUMB_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium, or set CRUMB_CHROMIUM)")
			return 1
		}
		// The tests skip one by one with the same message.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "crumb-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "basic")
	build := exec.Command("go", "build", "-o", serverBin, "./basic")
	build.Dir = ".." // the examples module
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building examples/basic: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// findBrowser returns the path of a Chromium binary, or "".
func findBrowser() string {
	if p := os.Getenv("CRUMB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips the test when there is no Chromium, saying how to run it.
func needBrowser(t *testing.T) {
	t.Helper()
	if browserPath == "" {
		t.Skip("no Chromium: install it (Debian: apt-get install chromium) or set CRUMB_CHROMIUM to its binary, then run: go test ./examples/e2e")
	}
}

// server is a running examples/basic.
type server struct {
	url string // http://127.0.0.1:PORT (no trailing slash)
}

// startServer starts examples/basic on a free loopback port with the given
// flags and stops it when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(serverBin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "CRUMB_KEYS=") // a throwaway key per server
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := <-done; err != nil {
			t.Errorf("examples/basic did not stop cleanly: %v\n%s", err, cmd.Stderr.(*lockedWriter).String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	if err != nil {
		t.Fatalf("examples/basic printed no address: %v\n%s", err, cmd.Stderr.(*lockedWriter).String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("examples/basic printed %q, want \"listening on http://...\"", line)
	}
	return &server{url: strings.TrimSuffix(addr, "/")}
}

// lockedWriter is an io.Writer safe for the process's writes and the
// test's reads.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// newBrowser starts a headless Chromium with its profile in dir (a fresh
// one when dir is "") and returns a context for its first tab. The browser
// is closed when the test ends, or earlier by closeBrowser.
func newBrowser(t *testing.T, dir string) context.Context {
	t.Helper()
	needBrowser(t)
	if dir == "" {
		dir = t.TempDir()
	}
	select {
	case browsers <- struct{}{}:
	case <-t.Context().Done():
		t.Fatal("test ended while waiting for a browser slot")
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-browsers
		}
	}
	// Chromium, rarely, exits before it listens when the machine is
	// busy; a second start of the same profile has always worked.
	var ctx context.Context
	var stop func()
	var err error
	for attempt := 1; ; attempt++ {
		ctx, stop, err = startBrowser(t.Context(), dir)
		if err == nil || attempt == 2 {
			break
		}
		t.Logf("starting Chromium (attempt %d): %v", attempt, err)
	}
	if err != nil {
		release()
		t.Fatalf("starting Chromium %s: %v", browserPath, err)
	}
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			stop()
			release()
		})
	}
	t.Cleanup(closeAll)
	closers.Store(ctx, closeAll)
	return ctx
}

// startBrowser starts Chromium on the profile dir and returns the context
// of its first tab and a func that closes it gracefully, so that it writes
// its cookies to the profile.
func startBrowser(parent context.Context, dir string) (context.Context, func(), error) {
	ctx, cancel := context.WithTimeout(parent, testTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath),
		chromedp.UserDataDir(dir),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox on (CI
		// containers run as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	stop := func() {
		_ = chromedp.Cancel(bctx)
		cancelBrowser()
		cancelAlloc()
		cancel()
	}
	if err := chromedp.Do(bctx); err != nil {
		stop()
		return nil, nil, err
	}
	return bctx, stop, nil
}

// closers maps a browser context to its stop func, for closeBrowser.
var closers sync.Map

// closeBrowser closes the browser of ctx gracefully, as a user quitting it.
func closeBrowser(t *testing.T, ctx context.Context) {
	t.Helper()
	stop, ok := closers.LoadAndDelete(ctx)
	if !ok {
		t.Fatal("closeBrowser: not a browser from newBrowser")
	}
	stop.(func())()
}

// open loads path of srv and returns the response's status.
func open(t *testing.T, ctx context.Context, srv *server, path string) int64 {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.url+path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.Status
}

// submit fills the fields of form#id (name → value) and presses its button,
// and returns the status of the page the browser ends on (after any
// redirect).
func submit(t *testing.T, ctx context.Context, id string, fields map[string]string) int64 {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for name, value := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(fmt.Sprintf("form#%s [name=%q]", id, name)), value))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS("form#"+id+" button")))
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("submitting form#%s: %v", id, err)
	}
	return resp.Status
}

// text returns the text of the element sel on the loaded page; the test
// fails when there is none.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[*string](fmt.Sprintf("document.querySelector(%q)?.textContent ?? null", sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	if s == nil {
		t.Fatalf("the page has no %s", sel)
	}
	return strings.TrimSpace(*s)
}

// number returns the integer text of the element sel.
func number(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	s := text(t, ctx, sel)
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s holds %q, want an integer", sel, s)
	}
	return n
}

// exists reports whether the page has an element matching sel.
func exists(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
	if err != nil {
		t.Fatalf("looking for %s: %v", sel, err)
	}
	return ok
}

// notice returns the class and text of #notice, or "", "" when the page
// has none.
func notice(t *testing.T, ctx context.Context) (class, msg string) {
	t.Helper()
	if !exists(t, ctx, "#notice") {
		return "", ""
	}
	class, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#notice").className`))
	if err != nil {
		t.Fatal(err)
	}
	return class, text(t, ctx, "#notice")
}

// cookies returns the cookies the browser holds for srv, by name.
func cookies(t *testing.T, ctx context.Context, srv *server) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.url + "/"}})
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	m := make(map[string]*network.Cookie, len(res.Cookies))
	for _, c := range res.Cookies {
		if _, dup := m[c.Name]; dup {
			t.Fatalf("the browser holds two cookies named %s", c.Name)
		}
		m[c.Name] = c
	}
	return m
}

// names returns the names of the session's cookies the browser holds:
// the session cookie and its chunks.
func names(m map[string]*network.Cookie) []string {
	var out []string
	for _, n := range []string{cookieName, cookieName + ".1", cookieName + ".2", cookieName + ".3", cookieName + ".4", cookieName + ".5", cookieName + ".6", cookieName + ".7", cookieName + ".8", cookieName + ".9"} {
		if _, ok := m[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// chunkNames returns the names of a session in n cookies.
func chunkNames(n int) []string {
	out := []string{cookieName}
	for i := 1; i < n; i++ {
		out = append(out, cookieName+"."+strconv.Itoa(i))
	}
	return out
}

// setCookies puts cookies back into the browser as they were (a replay).
func setCookies(t *testing.T, ctx context.Context, srv *server, cs []*network.Cookie) {
	t.Helper()
	for _, c := range cs {
		secure, httpOnly := c.Secure, c.HTTPOnly
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: srv.url + "/", Path: c.Path,
			Secure: &secure, HTTPOnly: &httpOnly, SameSite: c.SameSite,
		})
		if err != nil {
			t.Fatalf("setting cookie %s: %v", c.Name, err)
		}
	}
}

// deleteCookie removes the cookie name from the browser.
func deleteCookie(t *testing.T, ctx context.Context, srv *server, name string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: srv.url + "/"}); err != nil {
		t.Fatalf("deleting cookie %s: %v", name, err)
	}
}

// login logs in as name from the home page and checks it worked.
func login(t *testing.T, ctx context.Context, srv *server, name string) {
	t.Helper()
	if st := open(t, ctx, srv, "/"); st != 200 {
		t.Fatalf("GET / = %d", st)
	}
	if st := submit(t, ctx, "login", map[string]string{"name": name}); st != 200 {
		t.Fatalf("login: page status %d", st)
	}
	if got := text(t, ctx, "#user"); got != name {
		t.Fatalf("after login #user = %q, want %q", got, name)
	}
}

// addItems adds count copies of item to the cart and returns the status
// and the class and text of the notice on the page the browser ends on.
func addItems(t *testing.T, ctx context.Context, item string, count int) (status int64, class, msg string) {
	t.Helper()
	status = submit(t, ctx, "add", map[string]string{"item": item, "count": strconv.Itoa(count)})
	class, msg = notice(t, ctx)
	return status, class, msg
}

// item returns a distinct cart item of 40 characters, the most the form
// takes.
func item(i int) string {
	s := fmt.Sprintf("item-%03d-", i)
	return s + strings.Repeat("x", 40-len(s))
}

// sizes is what /session says about the session's cookies.
type sizes struct {
	total, chunks, limit, maxChunks, headerBudget int
}

// inspect opens /session and reads its size figures.
func inspect(t *testing.T, ctx context.Context, srv *server) sizes {
	t.Helper()
	if st := open(t, ctx, srv, "/session"); st != 200 {
		t.Fatalf("GET /session = %d", st)
	}
	return sizes{
		total:        number(t, ctx, "#size-total"),
		chunks:       number(t, ctx, "#chunks"),
		limit:        number(t, ctx, "#limit"),
		maxChunks:    number(t, ctx, "#max-chunks"),
		headerBudget: number(t, ctx, "#header-budget"),
	}
}
