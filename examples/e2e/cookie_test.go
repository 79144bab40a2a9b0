package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestCookieAsStored checks the session cookie as Chromium stored it: the
// __Host- prefix's rules (Secure, Path=/, no Domain), HttpOnly (so page
// scripts cannot read it), SameSite=Lax and a lifetime; and that the login
// holds across reloads.
func TestCookieAsStored(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "alice")

	jar := cookies(t, ctx, srv)
	if got := names(jar); len(got) != 1 {
		t.Fatalf("the browser holds session cookies %v, want just %s", got, cookieName)
	}
	c := jar[cookieName]
	if !c.Secure {
		t.Error("Secure is not set")
	}
	if !c.HTTPOnly {
		t.Error("HttpOnly is not set")
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("SameSite = %q, want Lax", c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("Path = %q, want /", c.Path)
	}
	// A host-only cookie: the domain is the host itself, without the
	// leading dot of a Domain attribute.
	if c.Domain != "127.0.0.1" {
		t.Errorf("Domain = %q, want the host-only 127.0.0.1", c.Domain)
	}
	// Persistent, expiring with the idle timeout (30m by default): it
	// survives closing the browser, and not much longer.
	if c.Session {
		t.Error("the cookie is a browser-session cookie; want Max-Age")
	}
	if left := time.Until(time.Unix(int64(c.Expires), 0)); left < 25*time.Minute || left > 31*time.Minute {
		t.Errorf("the cookie expires in %v, want about the 30m lifetime", left)
	}

	// Invisible to the page's scripts.
	dc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dc, "sessionid") {
		t.Errorf("document.cookie shows the session cookie: %d characters", len(dc))
	}

	for i := range 3 {
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.url+"/")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.RunResponse(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		if got := text(t, ctx, "#user"); got != "alice" {
			t.Fatalf("reload %d: #user = %q, want alice", i, got)
		}
	}
}

// TestLoginSurvivesBrowserRestart quits the browser and starts it again on
// the same profile: the cookie was written to disk, and the user is still
// logged in with the cart they had.
func TestLoginSurvivesBrowserRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	profile := t.TempDir()

	ctx := newBrowser(t, profile)
	login(t, ctx, srv, "bob")
	if st, class, msg := addItems(t, ctx, "teapot", 2); st != 200 || class != "ok" {
		t.Fatalf("adding to the cart: status %d, notice %q %q", st, class, msg)
	}
	closeBrowser(t, ctx)

	ctx = newBrowser(t, profile)
	if st := open(t, ctx, srv, "/"); st != 200 {
		t.Fatalf("GET / = %d", st)
	}
	if got := text(t, ctx, "#user"); got != "bob" {
		t.Errorf("after a browser restart #user = %q, want bob", got)
	}
	if got := number(t, ctx, "#cart-count"); got != 2 {
		t.Errorf("after a browser restart the cart holds %d items, want 2", got)
	}
}
