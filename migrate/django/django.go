// Package django reads the session cookies of Django's signed_cookies
// session backend (django.contrib.sessions.backends.signed_cookies), so
// that a site moving from Django to crumb keeps its users logged in: see
// package migrate.
//
// A cookie is accepted only if its HMAC-SHA256 signature, made by Django's
// TimestampSigner with the session backend's salt, matches SECRET_KEY or
// one of SECRET_KEY_FALLBACKS; if it was signed no longer ago than the
// session cookie age; and if its payload is JSON (Django's JSONSerializer,
// possibly zlib-compressed, decompressed to at most MaxSize bytes). A
// cookie made with the pickle serializer is refused: it is never
// unpickled, nor parsed as anything but JSON.
package django

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crumbhq/crumb/migrate"
)

// Errors of Reader.Open for a cookie to refuse: each matches
// migrate.ErrRefused. Their messages never quote the cookie.
var (
	// ErrSignature: the cookie is not signed by any of the keys.
	ErrSignature = fmt.Errorf("django: session cookie signature does not match: %w", migrate.ErrRefused)
	// ErrExpired: the cookie was signed longer ago than MaxAge.
	ErrExpired = fmt.Errorf("django: session cookie expired: %w", migrate.ErrRefused)
	// ErrFormat: the signed payload is not a JSON object within MaxSize
	// bytes (such as one made by the pickle serializer).
	ErrFormat = fmt.Errorf("django: session cookie payload is not JSON: %w", migrate.ErrRefused)
)

// Reader reads Django signed_cookies session cookies.
type Reader struct {
	// SecretKey is Django's SECRET_KEY. Required.
	SecretKey string
	// Fallbacks are Django's SECRET_KEY_FALLBACKS: older keys whose
	// cookies are still accepted.
	Fallbacks []string
	// CookieName is Django's SESSION_COOKIE_NAME. Default "sessionid".
	CookieName string
	// MaxAge is Django's SESSION_COOKIE_AGE: a cookie signed longer ago is
	// refused. Default two weeks, Django's default.
	MaxAge time.Duration
	// MaxSize bounds the decompressed payload. Default 64 KiB.
	MaxSize int
}

// salt is the signed_cookies backend's salt.
const salt = "django.contrib.sessions.backends.signed_cookies"

// Name returns the cookie's name.
func (r *Reader) Name() string {
	if r.CookieName == "" {
		return "sessionid"
	}
	return r.CookieName
}

// Open checks a cookie value and returns the session it holds.
func (r *Reader) Open(value string, now time.Time) (map[string]any, error) {
	if r.SecretKey == "" {
		return nil, errors.New("django: Reader.SecretKey is required")
	}
	signed, sig, ok := cutLast(value, ':')
	if !ok || !r.signedByAKey(signed, sig) {
		return nil, ErrSignature
	}
	payload, stamp, ok := cutLast(signed, ':')
	if !ok {
		return nil, ErrSignature // signed, but not by a TimestampSigner
	}
	ts, ok := base62(stamp)
	maxAge := r.MaxAge
	if maxAge == 0 {
		maxAge = 14 * 24 * time.Hour
	}
	if !ok || now.Sub(time.Unix(ts, 0)) > maxAge {
		return nil, ErrExpired
	}
	data, err := r.decode(payload)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// signedByAKey reports whether sig is the signature of signed under the
// secret key or a fallback, compared in constant time.
func (r *Reader) signedByAKey(signed, sig string) bool {
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig) // canonical: one text per signature, as Django compares them
	if err != nil {
		return false
	}
	found := false
	for _, key := range append([]string{r.SecretKey}, r.Fallbacks...) {
		// Django's salted_hmac: the HMAC key is SHA-256(key_salt + secret),
		// with key_salt the signer's salt + "signer".
		k := sha256.Sum256([]byte(salt + "signer" + key))
		mac := hmac.New(sha256.New, k[:])
		mac.Write([]byte(signed))
		found = hmac.Equal(mac.Sum(nil), got) || found
	}
	return found
}

// decode reads the payload: unpadded base64url of JSON, or of zlib-
// compressed JSON after a ".".
func (r *Reader) decode(payload string) (map[string]any, error) {
	compressed := strings.HasPrefix(payload, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(payload, "."))
	if err != nil {
		return nil, ErrFormat
	}
	limit := r.MaxSize
	if limit == 0 {
		limit = 64 << 10
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, ErrFormat
		}
		raw, err = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, ErrFormat
		}
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, limit)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil || dec.More() {
		return nil, ErrFormat
	}
	return data, nil
}

// cutLast splits s around the last sep.
func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// base62 decodes Django's base62 timestamps (0-9, A-Z, a-z).
func base62(s string) (int64, bool) {
	if s == "" || len(s) > 11 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'A' && c <= 'Z':
			d = int64(c-'A') + 10
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 36
		default:
			return 0, false
		}
		n = n*62 + d
	}
	return n, true
}
