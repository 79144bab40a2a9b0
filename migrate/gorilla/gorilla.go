// Package gorilla reads the session cookies of gorilla/securecookie (and
// so of gorilla/sessions' CookieStore), so that a site moving from gorilla
// to crumb keeps its users logged in: see package migrate. It depends on
// the standard library only.
//
// A cookie is accepted only if its HMAC-SHA256 (securecookie's default
// hash) under the hash key covers the cookie's name, time and value, if it
// was made no longer ago than MaxAge, and, with a block key, once
// decrypted with AES in counter mode. Its value is decoded as gob (the
// default of securecookie and gorilla/sessions; plain values only: a type
// the sender registered is refused) or as JSON.
package gorilla

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crumbhq/crumb/migrate"
)

// Errors of Reader.Open for a cookie to refuse: each matches
// migrate.ErrRefused. Their messages never quote the cookie.
var (
	// ErrMAC: the cookie is not authenticated by the hash key.
	ErrMAC = fmt.Errorf("gorilla: session cookie MAC does not match: %w", migrate.ErrRefused)
	// ErrExpired: the cookie was made longer ago than MaxAge.
	ErrExpired = fmt.Errorf("gorilla: session cookie expired: %w", migrate.ErrRefused)
	// ErrFormat: the value is not what the serializer reads.
	ErrFormat = fmt.Errorf("gorilla: session cookie value does not decode: %w", migrate.ErrRefused)
)

// Reader reads gorilla/securecookie session cookies.
type Reader struct {
	// CookieName is the cookie's name (the session name of
	// gorilla/sessions): it is authenticated with the value. Required.
	CookieName string
	// HashKey is securecookie's hash key. Required.
	HashKey []byte
	// BlockKey is securecookie's block key, if the cookies are encrypted:
	// 16, 24 or 32 bytes for AES-128, -192 or -256.
	BlockKey []byte
	// MaxAge refuses a cookie made longer ago. Default 30 days,
	// securecookie's.
	MaxAge time.Duration
	// JSON reads values of securecookie's JSONEncoder; the default is gob.
	JSON bool
}

// maxLength is securecookie's default limit on a value's length.
const maxLength = 4096

// Name returns the cookie's name.
func (r *Reader) Name() string { return r.CookieName }

// Open checks a cookie value and returns the session it holds. Keys that
// are not strings (gorilla/sessions keys are any type) are printed.
func (r *Reader) Open(value string, now time.Time) (map[string]any, error) {
	if r.CookieName == "" || len(r.HashKey) == 0 {
		return nil, errors.New("gorilla: Reader.CookieName and HashKey are required")
	}
	if len(value) > maxLength {
		return nil, ErrFormat
	}
	b, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return nil, ErrMAC
	}
	// b is "date|value|mac"; the MAC covers "name|date|value".
	parts := bytes.SplitN(b, []byte("|"), 3)
	if len(parts) != 3 {
		return nil, ErrMAC
	}
	mac := hmac.New(sha256.New, r.HashKey)
	mac.Write([]byte(r.CookieName + "|"))
	mac.Write(b[:len(b)-len(parts[2])-1])
	if !hmac.Equal(mac.Sum(nil), parts[2]) {
		return nil, ErrMAC
	}
	made, err := strconv.ParseInt(string(parts[0]), 10, 64)
	maxAge := r.MaxAge
	if maxAge == 0 {
		maxAge = 30 * 24 * time.Hour
	}
	if err != nil || now.Sub(time.Unix(made, 0)) > maxAge {
		return nil, ErrExpired
	}
	v, err := base64.URLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return nil, ErrFormat
	}
	if r.BlockKey != nil {
		block, err := aes.NewCipher(r.BlockKey)
		if err != nil {
			return nil, err
		}
		if len(v) < block.BlockSize() {
			return nil, ErrFormat
		}
		iv, ct := v[:block.BlockSize()], v[block.BlockSize():]
		cipher.NewCTR(block, iv).XORKeyStream(ct, ct)
		v = ct
	}
	if r.JSON {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var data map[string]any
		if err := dec.Decode(&data); err != nil || dec.More() {
			return nil, ErrFormat
		}
		return data, nil
	}
	var values map[any]any
	if err := gob.NewDecoder(bytes.NewReader(v)).Decode(&values); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	data := make(map[string]any, len(values))
	for k, val := range values {
		data[fmt.Sprint(k)] = val
	}
	return data, nil
}
