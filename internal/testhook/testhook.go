// Package testhook gives crumb's own tests, in packages other than the one
// they test, two things the public API leaves out on purpose: a key made
// from any material (the test vectors use published sample keys, which
// crypto.NewKey refuses) and a count of the AEAD opens a key has run (so
// that a test can prove a cookie costs at most one). Package crypto fills
// them in when it is initialised. Nothing outside crumb's tests uses them,
// and only a package of this module can import them.
package testhook

// NewKeyUnchecked returns a *crypto.Key for secret without the weak-key
// checks of crypto.NewKey. It is set by package crypto.
var NewKeyUnchecked func(secret []byte) (key any, err error)

// Opens returns how many AEAD opens key, a *crypto.Key, has run. It is set
// by package crypto. The count is per key, so tests that count may run in
// parallel, each with its own key.
var Opens func(key any) uint64
