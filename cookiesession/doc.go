// Package cookiesession keeps a web application's per-user state (a login,
// a cart, a CSRF token, flash messages) in an encrypted cookie, with the
// semantics of Django's request.session and no server storage.
//
// # Getting started
//
// Build a [Manager] once, from a [Config] whose only required field is the
// keys, and wrap your routes with [Manager.Handler]:
//
//	keys, err := rotation.FromEnv("CRUMB_KEYS")
//	...
//	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys})
//	...
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
// In a handler, [FromContext] returns the request's [Session] (outside
// Handler it returns false, and the nil session's methods return
// [ErrNoSession]). Its dict-like methods follow Django's (Set, Delete,
// Has, Keys, Len, Items, Clear, Flush, CycleKey, SetExpiry, ...), and the
// generic functions [Get] and [Pop] decode values straight into your
// types:
//
//	s, ok := cookiesession.FromContext(r.Context())
//	if !ok { ... } // the route is not wrapped by Handler
//	cart, _, err := cookiesession.Get[Cart](s, "cart")
//	cart.Items = append(cart.Items, item)
//	err = s.Set("cart", cart)
//
// With two Managers (two cookies) in one chain, [Manager.FromContext]
// returns each one's session.
//
// [Data] and [SetData] keep the whole session in one struct instead, and
// [AddFlash] and [Flashes] carry typed messages across a redirect.
//
// Serverless and edge handlers, which have no http.ResponseWriter, use the
// same logic without the middleware: [Manager.Load] takes Cookie header
// values (or API Gateway's cookies list), and [Manager.Commit] adds the
// Set-Cookie, Vary and Cache-Control fields to the response header you
// pass, as the middleware does:
//
//	s := sessions.Load(ctx, event.Cookies...)
//	... // use s
//	h := http.Header{}
//	if err := sessions.Commit(s, status, h); err != nil { ... } // not saved: log it
//	resp.Cookies = h.Values("Set-Cookie")
//
// # Defaults
//
// The zero Config (with keys) is the secure one: the cookie is named
// "__Host-sessionid" and is HttpOnly, Secure, SameSite=Lax, host-only, on
// Path "/"; a session lives 14 days after its last save. Browsers treat
// http://localhost and http://127.0.0.1 as secure, so these defaults work
// in local development. Weakening them takes a field named Insecure....
//
// # Expiry
//
// Every deadline lives inside the sealed cookie and is enforced by the
// server on every request; the cookie's Max-Age is only a hint to the
// browser, and a copied cookie dies on time all the same.
//
//   - Config.Lifetime (default 14 days) ends a session that long after its
//     last save. [Session.SetExpiry] overrides it per session with Django's
//     forms: [IdleFor] (inactivity), [ExpiresIn] and [ExpiresAt] (fixed
//     deadlines), [BrowserClose], [DefaultExpiry].
//   - Config.AbsoluteLifetime caps every session at its issue time plus
//     that much, however active it is. Idle and absolute limits apply
//     together: a session ends at whichever comes first.
//   - By default, as in Django, only saves restart the idle window.
//     Config.RenewAfter makes requests count as activity too, re-sealing a
//     session at most once per RenewAfter (so the cookie is not rewritten
//     on every response); a RenewAfter of one nanosecond re-seals on every
//     request, as Django's SESSION_SAVE_EVERY_REQUEST does.
//   - A session is valid while now < deadline + Config.ClockSkew, at
//     nanosecond resolution, as Django keeps one while expire_date > now.
//     The clock is Config.Clock.
//
// A timeline, with Lifetime 30m, RenewAfter 10m and AbsoluteLifetime 8h:
// logged in at 09:00 (deadline 09:30); a request at 09:05 changes nothing;
// one at 09:12 re-seals (deadline 09:42); with no request until 09:43 the
// session is over. An active user is re-sealed every 10 minutes until
// 17:00, when the session ends whatever happens.
//
// # Security model
//
// The whole session (data, ID, subject, times, custom expiry) is encrypted
// and authenticated with XChaCha20-Poly1305; only the format version, the
// key ID and the nonce are visible, and every byte is authenticated. The
// cookie name is bound as additional data, so a value cannot be moved to
// another cookie; applications sharing a cookie name are kept apart by
// their keys (crypto.Key.Derive gives one per application). A cookie that is
// malformed, forged, sealed by an unknown key, expired or revoked gives a
// fresh empty session, never an error page; [Session.Err] gives the
// reason, which also goes to Config.Logger (slog.Default() by default,
// rate-limited) and never to the client. The response deletes only a cookie that is dead everywhere: one
// sealed by a key this instance lacks, or saved ahead of its clock, may be
// valid on another instance and is left alone. Nothing but plain data is
// ever decoded, and only after authentication, with strict limits: a
// leaked key allows forged sessions, not code execution.
//
// What a stateless cookie cannot do, crumb says plainly:
//
//   - Replay until the deadline. A stolen cookie works until its sealed
//     deadline, even after the user logs out: Flush deletes the browser's
//     copy only. Short idle windows (IdleFor, Lifetime) and
//     AbsoluteLifetime bound the damage.
//   - Rollback. A client can resend any older cookie that has not expired,
//     for example one from before a role was removed. Keep authorization
//     decisions that must take effect at once on the server.
//   - Per-session revocation needs state. Config.NotBefore logs everyone
//     out with no state at all. A [Revoker] (such as [DenyList] for one
//     process, or your own over a shared store) rejects single sessions
//     after Flush or CycleKey, for as long as any copy of them could be
//     accepted (renewed copies included), or all sessions of a user issued
//     before a time (password change, "log out everywhere"); it makes
//     requests stateful, by choice. SECURITY.md gives the threat model.
//   - Size. A cookie holds at most 4096 bytes, about 2.9 kB of session
//     data. crumb measures the whole Set-Cookie line and refuses to send a
//     session that does not fit ([*TooLargeError]; the browser keeps its
//     previous cookie) instead of letting the browser drop it silently.
//     [Session.CookieSizes] gives a handler the exact sizes, or that
//     error, before it answers, so that it can undo its change and say
//     so. Config.MaxChunks splits a larger session across up to 10
//     cookies, within Config.MaxHeaderBytes of request header.
//   - Login CSRF by cookie injection: an attacker may plant their own valid
//     session in a victim's browser. The "__Host-" prefix, on by default,
//     stops subdomains and plain-HTTP pages from doing so.
//
// # Key rotation
//
// Keys come from package rotation through Config.Keys. A cookie names its
// key by ID, so opening costs one lookup and at most one decryption. A
// cookie sealed under a key that is no longer primary still opens, and the
// response re-seals it under the primary with its times unchanged: active
// users move to the new key without noticing, and the old key can be
// retired at the time rotation.Keyring.RetireAt gives for
// [Manager.Policy].
//
// # Operations
//
// [Manager.Stats] counts, per key ID, the cookies each key opened,
// re-sealed, sealed and refused, and, per reason, the cookies that did not
// become a session. It encodes to JSON, for expvar.Func or a metrics
// endpoint: a key that opens nothing for a whole session lifetime carries
// no more traffic.
//
// # Wire format
//
// The cookie value is the text form of a sealed value of package crypto,
// whose plaintext is a CBOR map with small integer keys. docs/FORMAT.md
// specifies both to the byte, with test vectors.
package cookiesession
