package cookiesession

// This file seals and opens sessions in pooled buffers, so that a cookie,
// valid or hostile, costs no allocation for its length, and so that
// nothing secret goes back to the pool: a buffer returns holding
// ciphertext, or cleared.

import (
	"bytes"
	"sync"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

// bufPool holds buffers the size of the longest sealed value of one
// cookie; a chunked session, longer, gets its own.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, format.MaxChunkLen/4*3)
	return &b
}}

// seal encodes and seals p and appends its Set-Cookie lines to dst, one
// per cookie: the session cookie, then its chunks.
func (m *Manager) seal(dst []string, ring *rotation.Keyring, e Expiry, p *payload, now int64) ([]string, error) {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	return m.sealIn(*buf, dst, ring, e, p, now)
}

// sealIn is seal in buf: the payload is encoded where its ciphertext goes
// and sealed in place, so that buf then holds ciphertext only; if sealing
// fails, the payload is cleared.
func (m *Manager) sealIn(buf []byte, dst []string, ring *rotation.Keyring, e Expiry, p *payload, now int64) ([]string, error) {
	const pre = format.HeaderSize + format.NonceSize
	if n := pre + payloadSizeHint(p) + format.TagSize; cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	buf = appendPayload(buf[:pre], p)
	pt := buf[pre:]
	sealed := false
	defer func() {
		if !sealed {
			clear(pt)
		}
	}()
	f, err := m.frameFor(textLen(len(pt)), e, p.Deadline, now)
	if err != nil {
		return nil, withParts(err, p)
	}
	if ring == nil {
		return nil, errNoKeyring
	}
	value, err := format.SealChunks(ring.Primary(), buf[:0], f.n, pt, m.ad)
	if err != nil {
		return nil, err
	}
	sealed = true
	var stack [format.MaxChunkLen]byte // the text of one cookie, without an allocation
	text := stack[:0]
	if n := format.EncodedLen(len(value)); n > len(stack) {
		text = make([]byte, 0, n)
	}
	text = format.AppendEncode(text, value)
	for i := range f.n {
		dst = append(dst, m.line(i, text[:f.values[i]], &f.times))
		text = text[f.values[i]:]
	}
	return dst, nil
}

// openText decodes a text form of n cookies, opens it under ring, and
// returns a copy of its plaintext.
func openText(ring *rotation.Keyring, text string, n int, ad []byte) ([]byte, rotation.Opened, error) {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	return openIn(*buf, ring, text, n, ad)
}

// openIn is openText in buf, which it clears before it returns, whatever
// happened.
func openIn(buf []byte, ring *rotation.Keyring, text string, n int, ad []byte) ([]byte, rotation.Opened, error) {
	defer clear(buf[:min(cap(buf), len(text)/4*3+2)])
	v, ok := format.ParseInto(buf[:0], text) // length, header, alphabet and canonical base64: once
	if !ok || v.Header.Chunks != n {
		return nil, rotation.Opened{}, crypto.Invalid(crypto.ReasonMalformed)
	}
	const at = format.HeaderSize + format.NonceSize
	pt, opened, err := ring.Open(v.Sealed[at:at], v.Sealed, ad)
	if err != nil {
		return nil, rotation.Opened{}, err
	}
	return bytes.Clone(pt), opened, nil
}
