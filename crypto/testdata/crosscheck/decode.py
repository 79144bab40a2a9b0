#!/usr/bin/env python3
"""Independent decoder for crumb wire format version 1, written from
docs/FORMAT.md alone (not from the Go code).

It reads crypto/testdata/vectors.json, derives the key ID and AEAD key from
each secret, parses the key text and the value's text form, checks the
header, decrypts with AD = header || context, and compares every result with
the vector. It also re-seals with the vector's nonce and checks that a
flipped tag bit and a changed context are rejected. It exits non-zero on any
mismatch.

Requires Python 3 and PyNaCl (Debian: apt-get install python3-nacl, for
/usr/bin/python3). HKDF is RFC 5869 over the standard library's HMAC-SHA256.

It also decodes the session golden vector (cookiesession/testdata/golden.json):
the Set-Cookie value is opened with the session context and its CBOR payload is
parsed with the small decoder below and checked against FORMAT.md's table; the
same session split across chunk cookies is joined and opened to that payload.

Usage: decode.py [path/to/vectors.json [path/to/golden.json]]
"""

import base64
import hashlib
import hmac
import json
import os
import sys

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt as xchacha_open,
    crypto_aead_xchacha20poly1305_ietf_encrypt as xchacha_seal,
)
from nacl.exceptions import CryptoError

# FORMAT.md: constants.
VERSION = 0x01
KEY_SIZE = 32
KEY_ID_SIZE = 4
HEADER_SIZE = 6
NONCE_SIZE = 24
TAG_SIZE = 16
OVERHEAD = HEADER_SIZE + NONCE_SIZE + TAG_SIZE  # 46
MAX_CHUNKS = 10
MIN_TEXT_LEN = 62
MAX_TEXT_LEN = 40960
MAX_CHUNK_LEN = 4096
HEADER_TEXT_LEN = 8
KEY_TEXT_PREFIX = "crumbkey1_"
KEY_TEXT_LEN = 62
ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Mismatch(Exception):
    pass


def hkdf_sha256(secret, info, length):
    """RFC 5869 with SHA-256 and an empty salt (= HashLen zero bytes)."""
    prk = hmac.new(b"\x00" * 32, secret, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def key_id(secret):
    return hkdf_sha256(secret, b"crumb/v1/key-id", KEY_ID_SIZE)


def aead_key(secret):
    return hkdf_sha256(secret, b"crumb/v1/aead", 32)


def derive(secret, purpose):
    if purpose == "":
        raise Mismatch("empty purpose")
    return hkdf_sha256(secret, b"crumb/v1/derive/" + purpose.encode("utf-8"), 32)


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def context(fields):
    out = b""
    for f in fields:
        b = f.encode("utf-8")
        out += uvarint(len(b)) + b
    return out


def b64url_decode_strict(text):
    """Unpadded, canonical base64url: alphabet checked first, the length
    must not be 1 mod 4, and the text must re-encode to itself."""
    if len(text) % 4 == 1 or any(c not in ALPHABET for c in text):
        raise Mismatch("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise Mismatch("non-canonical base64url")
    return data


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def parse_key_text(text):
    """FORMAT.md, Text form of a key. Returns the secret."""
    if len(text) != KEY_TEXT_LEN or not text.startswith(KEY_TEXT_PREFIX) or text[18] != "_":
        raise Mismatch("key text: bad length, prefix or separator")
    id_hex = text[10:18]
    if any(c not in "0123456789abcdef" for c in id_hex):
        raise Mismatch("key text: ID is not lowercase hex")
    secret = b64url_decode_strict(text[19:])
    if len(secret) != KEY_SIZE:
        raise Mismatch("key text: secret is not 32 bytes")
    if key_id(secret) != bytes.fromhex(id_hex):
        raise Mismatch("key text: ID does not match the secret")
    return secret


def parse_header(h):
    if len(h) != HEADER_SIZE or h[0] != VERSION or not 1 <= h[1] <= MAX_CHUNKS:
        raise Mismatch("bad header %s" % h.hex())
    return h[1], h[2:6]


def decode_text(text):
    """FORMAT.md, Opening, steps 1-4. Returns (chunks, key ID, sealed)."""
    if not MIN_TEXT_LEN <= len(text) <= MAX_TEXT_LEN or len(text) % 4 == 1:
        raise Mismatch("text length %d out of bounds" % len(text))
    if any(c not in ALPHABET for c in text):
        raise Mismatch("text outside the base64url alphabet")
    chunks, kid = parse_header(b64url_decode_strict(text[:HEADER_TEXT_LEN]))
    sealed = b64url_decode_strict(text)
    if len(sealed) < OVERHEAD:
        raise Mismatch("sealed value shorter than 46 bytes")
    return chunks, kid, sealed


def open_text(keys, text, ctx):
    """FORMAT.md, Opening. keys maps key ID -> secret."""
    chunks, kid, sealed = decode_text(text)
    secret = keys.get(kid)
    if secret is None:
        raise Mismatch("unknown key ID %s" % kid.hex())
    header = sealed[:HEADER_SIZE]
    nonce = sealed[HEADER_SIZE:HEADER_SIZE + NONCE_SIZE]
    ct = sealed[HEADER_SIZE + NONCE_SIZE:]
    try:
        return chunks, xchacha_open(ct, header + ctx, nonce, aead_key(secret))
    except CryptoError:
        raise Mismatch("authentication failed")


def expect(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, want %r" % (what, got, want))


def expect_reject(what, fn):
    try:
        fn()
    except Mismatch:
        return
    raise Mismatch("%s: accepted, want rejection" % what)


def check_vector(v):
    secret = bytes.fromhex(v["secret"])
    expect("secret length", len(secret), KEY_SIZE)
    kid = key_id(secret)
    expect("key_id", kid.hex(), v["key_id"])
    expect("key_text secret", parse_key_text(v["key_text"]), secret)
    expect("aead_key", aead_key(secret).hex(), v["aead_key"])
    ctx = context(v["context_fields"])
    expect("context", ctx.hex(), v["context"])

    text = v["text"]
    chunks, text_kid, sealed = decode_text(text)
    expect("sealed", sealed.hex(), v["sealed"])
    expect("chunk count", chunks, 1)
    expect("header key ID", text_kid, kid)
    if len(text) > MAX_CHUNK_LEN:
        raise Mismatch("text longer than one cookie")
    header = sealed[:HEADER_SIZE]
    expect("header", header, bytes([VERSION, 1]) + kid)
    expect("ad", (header + ctx).hex(), v["ad"])
    nonce = sealed[HEADER_SIZE:HEADER_SIZE + NONCE_SIZE]
    expect("nonce", nonce.hex(), v["nonce"])

    keys = {kid: secret}
    _, plaintext = open_text(keys, text, ctx)
    expect("plaintext", plaintext.hex(), v["plaintext"])

    # Sealing with the vector's nonce reproduces the value.
    resealed = header + nonce + xchacha_seal(plaintext, header + ctx, nonce, aead_key(secret))
    expect("re-sealed", resealed.hex(), v["sealed"])
    expect("re-encoded", b64url_encode(resealed), text)

    # Negative checks: a flipped tag bit, another context, another key.
    bad = bytearray(sealed)
    bad[-1] ^= 0x01
    expect_reject("flipped tag bit", lambda: open_text(keys, b64url_encode(bytes(bad)), ctx))
    expect_reject("context with a field added", lambda: open_text(keys, text, ctx + b"\x00"))
    expect_reject("unknown key", lambda: open_text({b"\x00" * 4: secret}, text, ctx))
    if len(text) % 4 in (2, 3):
        last = text[-1]
        alt = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        nxt = alt[alt.index(last) + 1]
        expect_reject("non-canonical last character", lambda: decode_text(text[:-1] + nxt))


def check_derive(d):
    secret = bytes.fromhex(d["secret"])
    derived = derive(secret, d["purpose"])
    expect("derived_secret", derived.hex(), d["derived_secret"])
    expect("derived_key_id", key_id(derived).hex(), d["derived_key_id"])


class CBOR:
    """Just enough of RFC 8949 for FORMAT.md's session payload: core
    deterministic encoding (shortest heads, map keys in increasing bytewise
    order), definite lengths, no tags, no floats, integers within int64."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def head(self):
        ib = self.byte()
        major, info = ib >> 5, ib & 0x1F
        if info < 24:
            return major, info
        if info > 27:
            raise Mismatch("CBOR: indefinite length or reserved value")
        n = 1 << (info - 24)
        v = int.from_bytes(self.data[self.pos:self.pos + n], "big")
        self.pos += n
        if v < (24 if n == 1 else 1 << (4 * n)):
            raise Mismatch("CBOR: argument not in its shortest form")
        return major, v

    def item(self):
        major, v = self.head()
        if major in (0, 1) and v >= 1 << 63:
            raise Mismatch("CBOR: integer outside int64")
        if major == 0:
            return v
        if major == 1:
            return -1 - v
        if major in (2, 3):
            raw = self.data[self.pos:self.pos + v]
            self.pos += v
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            return [self.item() for _ in range(v)]
        if major == 5:
            out, prev = {}, None
            for _ in range(v):
                start = self.pos
                k = self.item()
                enc = self.data[start:self.pos]
                if prev is not None and enc <= prev:
                    raise Mismatch("CBOR: map keys out of order or repeated")
                prev = enc
                out[k] = self.item()
            return out
        if major == 7 and v in (20, 21, 22):
            return {20: False, 21: True, 22: None}[v]
        raise Mismatch("CBOR: unsupported major type %d" % major)

    def only(self):
        v = self.item()
        if self.pos != len(self.data):
            raise Mismatch("CBOR: trailing bytes")
        return v


def check_session(g):
    """FORMAT.md, Session payload."""
    secret = bytes.fromhex(g["secret"])
    cookie = g["set_cookie"].split(";")[0]
    name, value = cookie.split("=", 1)
    expect("cookie name", name, "__Host-sessionid")
    ctx = context(["crumb/v1/cookiesession", name])
    expect("session context", ctx.hex(), g["context"])
    chunks, plaintext = open_text({key_id(secret): secret}, value, ctx)
    expect("chunk count", chunks, 1)
    expect("payload", plaintext.hex(), g["payload"])
    p = CBOR(plaintext).only()
    # Keys 1-9 are the core fields; 16-63 are extensions a reader ignores.
    known = set(range(1, 10)) | set(range(16, 64))
    if not isinstance(p, dict) or not set(p) <= known or not {1, 2, 3, 4} <= set(p):
        raise Mismatch("payload keys %r" % sorted(p))
    expect("ID length", len(p[1]), 16)
    if not p[2] <= p[3] < p[4]:
        raise Mismatch("times out of order")
    import datetime
    clock = int(datetime.datetime.fromisoformat(g["clock"].replace("Z", "+00:00")).timestamp())
    expect("issued (Unix nanoseconds)", p[2], clock * 10**9)
    expect("deadline", p[4] - p[3], 1209600 * 10**9)
    expect("subject", p.get(6), "ann")
    expect("data", p.get(7), {"user": "ann", "n": 42})
    expect("flashes", p.get(9), ["hi"])
    expect("Max-Age", "Max-Age=1209600" in g["set_cookie"], True)

    # FORMAT.md, Chunking: the same session in several cookies, named name,
    # name.1, ...; their values joined in that order are one text form whose
    # header counts them.
    lines = g["chunked_set_cookie"]
    values = []
    for i, line in enumerate(lines):
        cname, cvalue = line.split(";")[0].split("=", 1)
        expect("chunk %d name" % i, cname, name if i == 0 else "%s.%d" % (name, i))
        if len(line) > 180:
            raise Mismatch("chunk %d: a %d-byte Set-Cookie over MaxCookieSize 180" % (i, len(line)))
        values.append(cvalue)
    chunks, chunked_plaintext = open_text({key_id(secret): secret}, "".join(values), ctx)
    expect("chunked: chunk count", chunks, len(lines))
    expect("chunked: payload", chunked_plaintext.hex(), g["payload"])
    if len(lines) < 2:
        raise Mismatch("the chunked vector is in %d cookie" % len(lines))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "vectors.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    failures = 0
    if data.get("version") != VERSION:
        print("FAIL: vectors.json version %r, want %d" % (data.get("version"), VERSION))
        failures += 1
    vectors, derives = data.get("vectors", []), data.get("derive", [])
    if not vectors or not derives:
        print("FAIL: no vectors")
        failures += 1
    for v in vectors:
        try:
            check_vector(v)
        except (Mismatch, KeyError, ValueError) as e:
            print("FAIL: %s: %s" % (v.get("name"), e))
            failures += 1
    for d in derives:
        try:
            check_derive(d)
        except (Mismatch, KeyError, ValueError) as e:
            print("FAIL: derive %r: %s" % (d.get("purpose"), e))
            failures += 1
    golden = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        here, "..", "..", "..", "cookiesession", "testdata", "golden.json")
    with open(golden, encoding="utf-8") as f:
        g = json.load(f)
    try:
        check_session(g)
    except (Mismatch, KeyError, ValueError) as e:
        print("FAIL: session golden vector: %s" % e)
        failures += 1
    if failures:
        print("%d failed" % failures)
        return 1
    print("ok: %d vectors, %d derivations and the session golden vector decoded from docs/FORMAT.md"
          % (len(vectors), len(derives)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
