package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestLogoutIsFinal logs out, then puts the pre-logout cookie back into the
// browser (as a thief who copied it would): the server has revoked it, so
// it opens as a fresh session, and the page says the session was ended.
func TestLogoutIsFinal(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "erin")
	addItems(t, ctx, "kettle", 1)
	jar := cookies(t, ctx, srv)
	stolen := jar[cookieName]
	if stolen == nil {
		t.Fatal("no session cookie after login")
	}

	if st := submit(t, ctx, "logout", nil); st != 200 {
		t.Fatalf("logout: page status %d", st)
	}
	if exists(t, ctx, "#user") {
		t.Fatal("still logged in after logout")
	}
	if class, msg := notice(t, ctx); class != "ok" || !strings.Contains(msg, "logged out") {
		t.Errorf("after logout the notice is %q %q", class, msg)
	}
	if c := cookies(t, ctx, srv)[cookieName]; c != nil && c.Value == stolen.Value {
		t.Fatal("logout left the old cookie in the browser")
	}

	setCookies(t, ctx, srv, []*network.Cookie{stolen})
	if st := open(t, ctx, srv, "/"); st != 200 {
		t.Fatalf("GET / with the replayed cookie = %d", st)
	}
	if exists(t, ctx, "#user") {
		t.Fatal("the replayed pre-logout cookie logged the user back in")
	}
	if got := number(t, ctx, "#cart-count"); got != 0 {
		t.Errorf("the replayed cookie brought back a cart of %d", got)
	}
	if class, msg := notice(t, ctx); class != "error" || !strings.Contains(msg, "ended") {
		t.Errorf("with the replayed cookie the notice is %q %q, want an error saying the session was ended", class, msg)
	}
}

// TestRotationMidSession rotates the server's key while a user is logged
// in (from another browser profile, as another visitor would): the user
// stays logged in, the first request after the rotation still opens the
// cookie sealed with the old key, and its response re-seals the session
// under the new one, although the request changes nothing.
func TestRotationMidSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "frank")
	open(t, ctx, srv, "/session")
	oldKey, primary := text(t, ctx, "#keyid"), text(t, ctx, "#primary")
	if oldKey == "" || oldKey != primary {
		t.Fatalf("after login the cookie is sealed with %q, the primary key is %q", oldKey, primary)
	}

	// Another visitor, in a browser context of its own (no shared
	// cookies), presses the rotate button.
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	open(t, other, srv, "/")
	if st := submit(t, other, "rotate", nil); st != 200 {
		t.Fatalf("rotate: page status %d", st)
	}

	// The user's next request: an inspection that changes nothing.
	before := cookies(t, ctx, srv)[cookieName].Value
	open(t, ctx, srv, "/session")
	if got := text(t, ctx, "#keyid"); got != oldKey {
		t.Fatalf("the first request after rotation opened a cookie sealed with %q, want the old key %q", got, oldKey)
	}
	newKey := text(t, ctx, "#primary")
	if newKey == oldKey {
		t.Fatal("the rotation did not change the primary key")
	}
	if after := cookies(t, ctx, srv)[cookieName].Value; after == before {
		t.Fatal("the response to a request under the old key did not re-seal the cookie")
	}
	open(t, ctx, srv, "/session")
	if got := text(t, ctx, "#keyid"); got != newKey {
		t.Errorf("after one request the cookie is sealed with %q, want the new primary %q", got, newKey)
	}
	open(t, ctx, srv, "/")
	if got := text(t, ctx, "#user"); got != "frank" {
		t.Errorf("after the rotation #user = %q, want frank", got)
	}
}

// TestCrossSitePostRefused submits a form to the example from a page on
// another site (http://localhost:PORT, while the example is on
// http://127.0.0.1): Go's cross-origin protection answers 403, and the
// user's cart is untouched.
func TestCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "grace")
	addItems(t, ctx, "umbrella", 3)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form id="attack" method="post" action="%s/cart/clear"><button>Claim your prize</button></form>`, srv.url)
	})}
	go func() { _ = evil.Serve(ln) }()
	t.Cleanup(func() { _ = evil.Close() })
	evilURL := fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)

	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(evilURL)); err != nil {
		t.Fatal(err)
	}
	if st := submit(t, ctx, "attack", nil); st != http.StatusForbidden {
		t.Errorf("the cross-site POST answered %d, want 403", st)
	}
	open(t, ctx, srv, "/")
	if got := number(t, ctx, "#cart-count"); got != 3 {
		t.Errorf("after the cross-site POST the cart holds %d items, want 3", got)
	}
	if got := text(t, ctx, "#user"); got != "grace" {
		t.Errorf("after the cross-site POST #user = %q", got)
	}
}
