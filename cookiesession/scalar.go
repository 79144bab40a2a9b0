package cookiesession

// This file stores and reads the commonest values, strings, booleans and
// integers, without reflection. The bytes written are exactly those the
// CBOR encoder writes for the same values, and every other value, or a
// stored value of another kind than the one asked for, goes the general
// way: the fast path never decides anything the encoder and decoder would
// decide differently.

import (
	"math"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// appendScalar appends the encoding of v and reports true if v is a
// string of valid UTF-8, a bool, or an integer that fits int64, of a
// predeclared type (a named type may encode itself).
func appendScalar(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return dst, false
		}
		return append(appendHead(dst, majorText, uint64(len(v))), v...), true
	case bool:
		if v {
			return append(dst, 0xe0|simpleTrue), true
		}
		return append(dst, 0xe0|simpleFalse), true
	case int:
		return appendInt(dst, int64(v)), true
	case int8:
		return appendInt(dst, int64(v)), true
	case int16:
		return appendInt(dst, int64(v)), true
	case int32:
		return appendInt(dst, int64(v)), true
	case int64:
		return appendInt(dst, v), true
	case uint:
		return appendUint(dst, uint64(v))
	case uint8:
		return appendUint(dst, uint64(v))
	case uint16:
		return appendUint(dst, uint64(v))
	case uint32:
		return appendUint(dst, uint64(v))
	case uint64:
		return appendUint(dst, v)
	}
	return dst, false
}

func appendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(dst, majorUint, uint64(n))
	}
	return appendHead(dst, majorNeg, uint64(-1-n))
}

// appendUint refuses what does not fit int64, which a stored value may
// not hold: the general way says why.
func appendUint(dst []byte, n uint64) ([]byte, bool) {
	if n > math.MaxInt64 {
		return dst, false
	}
	return appendHead(dst, majorUint, n), true
}

// decodeScalar decodes raw, a stored value, into dst and reports true if
// dst is a *string, *bool, *int or *int64 and raw holds a value of that
// kind which fits it.
func decodeScalar(raw cbor.RawMessage, dst any) bool {
	r := cborReader{b: raw}
	major, ai, arg, err := r.head()
	if err != nil {
		return false
	}
	switch d := dst.(type) {
	case *string:
		if major != majorText || r.off+int(arg) != len(raw) {
			return false
		}
		*d = string(raw[r.off:])
		return true
	case *bool:
		if major != majorOther || (ai != simpleTrue && ai != simpleFalse) {
			return false
		}
		*d = ai == simpleTrue
		return true
	case *int64:
		n, ok := intOf(major, arg)
		*d = n
		return ok
	case *int:
		n, ok := intOf(major, arg)
		if !ok || int64(int(n)) != n {
			return false
		}
		*d = int(n)
		return true
	}
	return false
}

// intOf returns the integer of a head of major type 0 or 1 that fits
// int64.
func intOf(major byte, arg uint64) (int64, bool) {
	switch {
	case arg > math.MaxInt64:
		return 0, false
	case major == majorUint:
		return int64(arg), true
	case major == majorNeg:
		return -1 - int64(arg), true
	}
	return 0, false
}
