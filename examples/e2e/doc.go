// Package e2e drives examples/basic in a real headless Chromium: the
// session cookie as the browser stores it, logins that survive a reload and
// a browser restart, sessions at the size limit and across chunk cookies,
// final logout, key rotation mid-session and a refused cross-site form.
//
// It is a module of its own, so that crumb's core module does not depend on
// github.com/chromedp/chromedp. Run it from the repository root with
//
//	go test ./examples/e2e
//
// It needs Chromium (Debian: apt-get install chromium). Without a browser
// the tests skip and say so; with CRUMB_REQUIRE_BROWSER=1 (as in CI) they
// fail instead. CRUMB_CHROMIUM names the browser binary when it is not on
// the PATH as chromium, chromium-browser or google-chrome.
package e2e
