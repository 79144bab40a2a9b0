// Package inspect gives cmd/crumb what the public API of package
// cookiesession leaves out on purpose, for the inspect command: a
// session's expiry rule in words. Package cookiesession sets it when it is
// initialised; only a package of this module can import it.
package inspect

// ExpiryRule describes the expiry rule of session, a
// *cookiesession.Session, opening it if needed: "default", "browser
// close", "idle for <duration>" or "fixed, until <RFC 3339 time>".
var ExpiryRule func(session any) string
