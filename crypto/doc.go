// Package crypto seals values for crumb: keys, key IDs, and the versioned
// wire format that carries a session inside a cookie.
//
// # Keys
//
// A [Key] is 32 bytes of uniformly random material. Make one with
// [GenerateKey], or read one with [ParseKey] from its text form,
// "crumbkey1_" followed by the key ID, "_" and the secret in base64url. The
// AEAD key and the 4-byte [KeyID] are both derived from the material with
// HKDF-SHA256 under their own labels, so the ID reveals nothing about the
// key. [Key.Derive] gives independent per-purpose subkeys, so one master
// key can serve several applications without reusing a key. Material that
// is plainly not random, and published sample keys, are refused
// ([ErrWeakKey]); there is no password-based constructor.
//
// # Sealing
//
// [Key.Seal] gives
//
//	version(1) ‖ chunks(1) ‖ key ID(4) ‖ nonce(24) ‖ ciphertext ‖ tag(16)
//
// sealed with XChaCha20-Poly1305 under the key's AEAD key, with a random
// nonce from crypto/rand. The additional data is the 6-byte header followed
// by the caller's additional data: name where the value is used, so that a
// value sealed for one use never opens in another. The version byte fixes
// the whole suite; nothing in a value selects an algorithm or a key other
// than by its ID. The byte-level specification, with the text form
// cookies use and test vectors, is docs/FORMAT.md.
//
// [Key.Open] checks the length and the header (version, chunk count, key
// ID) before any cryptography and runs exactly one AEAD open; the keyrings
// of package rotation look up the one key a value names. No input reaches
// x/crypto in a shape it would panic on, and no key is ever tried that the
// header does not name.
//
// Every failure returns an error matching [ErrInvalid] with the same
// message. The reason (malformed, unknown key, unauthentic) is kept for
// logs and metrics ([ReasonOf]); it must never reach the client.
//
// Most users need only keys from this package: package cookiesession seals
// and opens sessions.
//
// # Security model
//
// Sealing gives confidentiality and integrity of the whole plaintext and
// binds the header and context. It does not give freshness: a sealed value
// can be replayed until whatever expiry its plaintext carries, which is the
// session layer's business. Poly1305 is not key-committing, which is why a
// value is only ever opened with the one key its ID names and keys must be
// uniformly random.
//
// XChaCha20-Poly1305 is not FIPS 140 approved: in FIPS 140-only mode
// (GODEBUG=fips140=only) key construction returns an error.
package crypto
