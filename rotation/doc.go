// Package rotation manages the keys that seal crumb values: keyrings,
// atomic swaps, staged and automatic rotation, and loading keys from the
// environment or a file.
//
// # Keyrings
//
// A [Keyring] is an immutable, validated set of at most 8 keys:
// exactly one [Primary] key, which seals and opens, and [DecryptOnly] keys,
// which only open. [Keyring.Open] picks the key named in the value's header
// (never trying others) and reports in [Opened] which key it was and
// whether it was not the primary: the signal to seal the value again under
// the primary.
//
// A [Holder] shares the current ring between request goroutines, which
// read it without locks, and an operator, who swaps in a new ring
// atomically; the swap applies from the next request.
//
// # Key rotation
//
// The staged procedure, each step a method returning a new ring (in a
// Holder, through [Holder.Update]):
//
//  1. [Keyring.Add] the new key as decrypt-only and deploy it everywhere.
//  2. Wait out the propagation window ([Keyring.PromoteAt]), then
//     [Keyring.Promote] it. The old primary becomes decrypt-only, stamped
//     with the time it was demoted.
//  3. Values sealed under the old key keep opening; the session layer
//     re-seals them under the new primary as they are read.
//  4. Once [Keyring.RetireAt] has passed (demoted + propagation + longest
//     session lifetime + clock skew), [Keyring.Remove] the old key. Nobody
//     is logged out. The session layer gives the [Policy] that matches its
//     sessions: cookiesession.Manager.Policy.
//
// In an emergency, [Keyring.RevokePrimary] promotes a replacement at once
// and drops the old key: every value it sealed stops opening.
//
// # Automatic rotation
//
// A [Schedule] derives each period's key from a master key with HKDF, seals
// with the current period's key, opens with the keys of the previous
// periods, and already accepts the next period's key near a boundary, so
// instances whose clocks differ by up to the configured skew agree. Every
// instance that shares the master key computes the same keys: no storage,
// no coordination.
//
// # Loading keys
//
// [FromEnv], [ParseKeys] and [NewFileSource] read one text format: one
// key per line (or per ';'-separated entry), a state and a key in the text
// form of crypto.Key.SecretText, and in a file a last line "end". Errors
// name the line and never print a secret. A [FileSource] reloads the file
// when it changes and keeps the last good ring if a reload fails or finds
// the file incomplete.
//
// Every Source ([Keyring], [Holder], [Schedule], [FileSource]) gives the
// ring in force with At.
package rotation
