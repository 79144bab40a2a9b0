package cookiesession

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"unicode/utf8"
)

// This file reads the CBOR that session payloads and stored values are
// made of (RFC 8949), accepting exactly the subset docs/FORMAT.md allows,
// in core deterministic encoding only, so that every accepted item has one
// encoding and re-encodes to itself:
//
//   - integers from -2⁶³ to 2⁶³-1 (major types 0 and 1), in the shortest
//     head;
//   - byte strings, and text strings of valid UTF-8, of definite length;
//   - arrays, and maps whose keys are not arrays or maps and appear in
//     strictly increasing bytewise order of their encodings (so no key
//     appears twice);
//   - false, true and null; floats in the shortest of half, single and
//     double precision that holds the value exactly, never NaN or infinity;
//   - no tags, no indefinite lengths, no other simple values.
//
// Nesting is bounded by the caller: a scalar has depth 0, an array or map
// one more than its deepest element.

// errCBOR is returned for input outside the subset. Callers turn it into
// their own error; its text never reaches a client.
var errCBOR = errors.New("cookiesession: CBOR outside the accepted subset")

// CBOR major types.
const (
	majorUint  = 0
	majorNeg   = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6
	majorOther = 7
)

// Simple values and float heads of major type 7.
const (
	simpleFalse = 20
	simpleTrue  = 21
	simpleNull  = 22
	aiFloat16   = 25
	aiFloat32   = 26
	aiFloat64   = 27
)

// cborReader reads items from b, starting at off.
type cborReader struct {
	b   []byte
	off int
}

// head reads an item's initial byte and argument, refusing non-shortest
// arguments, reserved values and indefinite lengths. For major type 7 the
// argument of a float is its bits, not checked for shortness here.
func (r *cborReader) head() (major byte, ai byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, 0, errCBOR
	}
	ib := r.b[r.off]
	r.off++
	major, ai = ib>>5, ib&0x1f
	var n int
	switch {
	case ai < 24:
		return major, ai, uint64(ai), nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	default: // 28-30 reserved, 31 indefinite length or break
		return 0, 0, 0, errCBOR
	}
	if len(r.b)-r.off < n {
		return 0, 0, 0, errCBOR
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	switch n {
	case 1:
		arg = uint64(p[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(p))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(p))
	default:
		arg = binary.BigEndian.Uint64(p)
	}
	if major == majorOther {
		return major, ai, arg, nil
	}
	// The shortest head: an argument that fits fewer bytes must use them.
	if (n == 1 && arg < 24) || (n == 2 && arg <= math.MaxUint8) || (n == 4 && arg <= math.MaxUint16) || (n == 8 && arg <= math.MaxUint32) {
		return 0, 0, 0, errCBOR
	}
	return major, ai, arg, nil
}

// ascii reports whether s is all ASCII, which is valid UTF-8.
func ascii(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// length checks that a string of arg bytes, or a container of arg items
// (each at least one byte), fits in what remains.
func (r *cborReader) fits(arg uint64) bool {
	return arg <= uint64(len(r.b)-r.off)
}

// item reads one item and returns its depth. It fails if the item is
// outside the subset or nests deeper than limit.
func (r *cborReader) item(limit int) (depth int, err error) {
	// The commonest items, a small integer or a short ASCII text string,
	// take no call.
	if r.off < len(r.b) {
		switch ib := r.b[r.off]; {
		case ib < 0x18 || (ib >= 0x20 && ib < 0x38): // an integer of -24 to 23
			r.off++
			return 0, nil
		case ib >= 0x60 && ib < 0x78: // a text string of 0 to 23 bytes
			n := int(ib - 0x60)
			if n < len(r.b)-r.off {
				s := r.b[r.off+1 : r.off+1+n]
				if ascii(s) {
					r.off += 1 + n
					return 0, nil
				}
			}
		}
	}
	major, ai, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	switch major {
	case majorUint, majorNeg:
		if arg > math.MaxInt64 {
			return 0, errCBOR
		}
		return 0, nil
	case majorBytes, majorText:
		if !r.fits(arg) {
			return 0, errCBOR
		}
		s := r.b[r.off : r.off+int(arg)]
		r.off += int(arg)
		if major == majorText && !utf8.Valid(s) {
			return 0, errCBOR
		}
		return 0, nil
	case majorArray:
		if limit < 1 || !r.fits(arg) {
			return 0, errCBOR
		}
		for range arg {
			d, err := r.item(limit - 1)
			if err != nil {
				return 0, err
			}
			depth = max(depth, d)
		}
		return depth + 1, nil
	case majorMap:
		if limit < 1 || !r.fits(arg) {
			return 0, errCBOR
		}
		var prev []byte
		for i := range arg {
			start := r.off
			if _, err := r.item(0); err != nil { // a key is never an array or a map
				return 0, err
			}
			key := r.b[start:r.off]
			if i > 0 && bytes.Compare(prev, key) >= 0 {
				return 0, errCBOR // out of order, or a duplicate
			}
			prev = key
			d, err := r.item(limit - 1)
			if err != nil {
				return 0, err
			}
			depth = max(depth, d)
		}
		return depth + 1, nil
	case majorOther:
		switch ai {
		case simpleFalse, simpleTrue, simpleNull:
			return 0, nil
		case aiFloat16, aiFloat32, aiFloat64:
			if !shortestFloat(ai, arg) {
				return 0, errCBOR
			}
			return 0, nil
		}
	}
	return 0, errCBOR // tags, other simple values
}

// shortestFloat reports whether the float with head ai and bits arg is
// finite and in the shortest of the three widths that holds its value
// exactly (RFC 8949 §4.2.1 with §4.1's preferred serialization).
func shortestFloat(ai byte, bits uint64) bool {
	var f float64
	switch ai {
	case aiFloat16:
		return bits&0x7c00 != 0x7c00 // exponent all ones: infinity or NaN
	case aiFloat32:
		f = float64(math.Float32frombits(uint32(bits)))
	default:
		f = math.Float64frombits(bits)
		if !math.IsInf(f, 0) && !math.IsNaN(f) && float64(float32(f)) == f {
			return false // fits single precision
		}
	}
	return !math.IsInf(f, 0) && !math.IsNaN(f) && !fitsHalf(f)
}

// fitsHalf reports whether the finite f is exactly a half-precision float
// (1 sign bit, 5 exponent bits, 10 fraction bits, subnormals included).
func fitsHalf(f float64) bool {
	a := math.Abs(f)
	if a == 0 {
		return true
	}
	if a > 65504 { // the largest half
		return false
	}
	// a = frac·2^exp with frac in [0.5, 1). Halves have 11 significant
	// bits down to 2⁻¹⁴ and a fixed step of 2⁻²⁴ below: a is a half if it
	// is a whole multiple of the step at its magnitude.
	_, exp := math.Frexp(a)
	q := math.Ldexp(a, 11-max(exp, -13))
	return q == math.Trunc(q)
}

// checkValue checks that b is exactly one stored value: one item of the
// subset nesting at most valueNesting levels.
func checkValue(b []byte) error {
	r := cborReader{b: b}
	if _, err := r.item(valueNesting); err != nil {
		return err
	}
	if r.off != len(b) {
		return errCBOR
	}
	return nil
}
