package cookiesession

import (
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crumbhq/crumb/crypto"
	"github.com/fxamacker/cbor/v2"
)

// payload is the plaintext sealed in a session cookie: a CBOR map with small
// integer keys, specified in docs/FORMAT.md. Times are Unix nanoseconds.
type payload struct {
	ID       []byte                     `cbor:"1,keyasint"`           // session ID, idLen random bytes
	IssuedAt int64                      `cbor:"2,keyasint"`           // when the ID was minted
	SavedAt  int64                      `cbor:"3,keyasint"`           // last save: starts the idle window
	Deadline int64                      `cbor:"4,keyasint"`           // the session is valid while now < Deadline
	Expiry   *expiryWire                `cbor:"5,keyasint,omitempty"` // custom expiry, if any
	Subject  string                     `cbor:"6,keyasint,omitempty"` // for revocation checks
	Data     map[string]cbor.RawMessage `cbor:"7,keyasint,omitempty"` // dict-like values
	Value    cbor.RawMessage            `cbor:"8,keyasint,omitempty"` // typed-mode value
	Flashes  []cbor.RawMessage          `cbor:"9,keyasint,omitempty"` // pending flash messages
}

// expiryWire is a custom expiry: [kind, value].
type expiryWire struct {
	_     struct{} `cbor:",toarray"`
	Kind  uint8
	Value int64
}

// idLen is the length of a session ID: 128 bits from crypto/rand.
const idLen = 16

// maxNesting bounds how deep the payload nests (arrays and maps). Every
// stored value (a data value, the typed value, a flash) may nest
// valueNesting levels wherever it sits; the deepest, a data value or a
// flash, sits two levels down.
const (
	valueNesting = 6
	maxNesting   = valueNesting + 2
)

// The CBOR modes are built once, by the first New, not in init: a process
// that imports the package but builds no Manager pays nothing.
var (
	encMode cbor.EncMode
	// valueDec decodes stored values into the caller's types, with the
	// limits of the subset in cbor.go, tolerating fields the caller's type
	// lacks, so that removing a struct field does not invalidate live
	// sessions.
	valueDec cbor.DecMode
	// anyDec decodes stored values into any, maps as map[any]any, for
	// Values and Items.
	anyDec cbor.DecMode
)

var buildModes = sync.OnceFunc(func() {
	// Building modes only validates options: microseconds, no I/O.
	eo := cbor.CoreDetEncOptions()
	eo.Time = cbor.TimeRFC3339Nano // text, no tag, no truncation
	eo.TimeTag = cbor.EncTagNone
	var err error
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	limit := crypto.MaxPlaintext
	vo := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		TimeTag:           cbor.DecTagIgnored,
		MaxNestedLevels:   valueNesting,
		MaxArrayElements:  limit,
		MaxMapPairs:       limit,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		DefaultMapType:    reflect.TypeFor[map[string]any](),
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		BignumTag:         cbor.BignumTagForbidden,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
		BinaryUnmarshaler: cbor.BinaryUnmarshalerNone,
		TextUnmarshaler:   cbor.TextUnmarshalerNone,
	}
	if valueDec, err = vo.DecMode(); err != nil {
		panic(err)
	}
	vo.DefaultMapType = nil
	if anyDec, err = vo.DecMode(); err != nil {
		panic(err)
	}
})

// encodeValue encodes v for storage. It refuses, with ErrEncode, anything
// that would not come back: values a reader of docs/FORMAT.md must reject
// (checkValue), values that do not decode back into v's own type, and the
// values checkStorable catches before encoding (cycles, which would crash
// the encoder, and types that would be stored as something else).
func encodeValue(v any) (cbor.RawMessage, error) {
	if err := checkStorable(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if err := checkValue(b); err != nil {
		return nil, fmt.Errorf("%w: not a storable value (integers must fit int64, no NaN or infinity, at most %d nested levels, no tags)", ErrEncode, valueNesting)
	}
	if v != nil {
		if err := valueDec.Unmarshal(b, reflect.New(reflect.TypeOf(v)).Interface()); err != nil {
			return nil, fmt.Errorf("%w: does not decode back: %v", ErrEncode, err)
		}
	}
	return b, nil
}

// Bounds of checkStorable's walk. Containers deeper than valueNesting
// cannot be stored anyway; pointer and interface hops between them are
// bounded apart, so that a cycle through pointers alone is caught too; and
// the number of values visited is bounded, so that a value sharing its
// parts many times over (a DAG that would encode to gigabytes) costs
// bounded time. Every visited value encodes to at least one byte, bar a
// zero field left out by omitempty, so the budget is far above what fits a
// cookie.
const (
	maxHops   = 64
	maxVisits = 1 << 20
)

var (
	typeBigInt       = reflect.TypeFor[big.Int]()
	typeTime         = reflect.TypeFor[time.Time]()
	typeMarshaler    = reflect.TypeFor[cbor.Marshaler]()
	typeBinaryMarsh  = reflect.TypeFor[encoding.BinaryMarshaler]()
	typeRawMessage   = reflect.TypeFor[cbor.RawMessage]()
	errTooDeep       = fmt.Errorf("nests deeper than %d levels, or holds a cycle", valueNesting)
	errTooManyValues = fmt.Errorf("holds more than %d values", maxVisits)
)

// checkStorable walks v as the encoder will, before it does: a value that
// contains itself would make the encoder recurse until the process dies,
// which no recover can stop. It also refuses what the encoder would store
// silently as something else: a math/big.Int (an integer only when it
// fits int64, a tag otherwise) and a struct with fields but none that
// encode (stored as an empty map, its contents lost).
func checkStorable(v any) error {
	visits := 0
	return walkStorable(reflect.ValueOf(v), 0, 0, &visits)
}

func walkStorable(v reflect.Value, depth, hops int, visits *int) error {
	if !v.IsValid() {
		return nil
	}
	if *visits++; *visits > maxVisits {
		return errTooManyValues
	}
	t := v.Type()
	if t == typeBigInt || (t.Kind() == reflect.Pointer && t.Elem() == typeBigInt) {
		return fmt.Errorf("a math/big.Int is not stored as such: store its text (Int.String) or bytes")
	}
	switch t {
	case typeTime, typeRawMessage:
		return nil
	}
	if t.Implements(typeMarshaler) || t.Implements(typeBinaryMarsh) {
		return nil // the type encodes itself
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if hops >= maxHops {
			return errTooDeep
		}
		return walkStorable(v.Elem(), depth, hops+1, visits)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // a byte string
		}
		if depth >= valueNesting {
			return errTooDeep
		}
		for i := range v.Len() {
			if err := walkStorable(v.Index(i), depth+1, 0, visits); err != nil {
				return err
			}
		}
	case reflect.Map:
		if depth >= valueNesting {
			return errTooDeep
		}
		for it := v.MapRange(); it.Next(); {
			if err := walkStorable(it.Key(), depth+1, 0, visits); err != nil {
				return err
			}
			if err := walkStorable(it.Value(), depth+1, 0, visits); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if depth >= valueNesting {
			return errTooDeep
		}
		n, err := walkFields(v, depth, 0, visits)
		if err != nil {
			return err
		}
		if n == 0 && t.NumField() > 0 {
			return fmt.Errorf("%v has no exported fields: it would be stored as an empty map and lose its contents", t)
		}
	}
	return nil
}

// walkFields walks the fields of struct v that the encoder writes into
// v's map, at depth: exported ones, and the fields of embedded structs,
// which join v's map, unless tagged "-". It returns how many there are.
// embedded counts the embedded structs followed to get here.
func walkFields(v reflect.Value, depth, embedded int, visits *int) (int, error) {
	t := v.Type()
	encoded := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("cbor") == "-" {
			continue
		}
		fv := v.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("cbor"), ","); f.Anonymous && name == "" {
			for fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				if embedded >= maxHops {
					return 0, errTooDeep
				}
				n, err := walkFields(fv, depth, embedded+1, visits)
				if err != nil {
					return 0, err
				}
				encoded += n
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		encoded++
		if err := walkStorable(fv, depth+1, 0, visits); err != nil {
			return 0, err
		}
	}
	return encoded, nil
}

// checkText refuses a key or subject that is not valid UTF-8, which CBOR
// text must be, so that storing it cannot make the whole session
// unreadable on the next request.
func checkText(what, text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrEncode, what)
	}
	return nil
}

// decodeValue decodes a stored value into dst.
func decodeValue(raw cbor.RawMessage, dst any) error {
	if err := valueDec.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return nil
}

// decodeAny decodes a stored value into Go's generic types, turning maps
// whose keys are all strings into map[string]any.
func decodeAny(raw cbor.RawMessage) (any, error) {
	var v any
	if err := anyDec.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return stringKeys(v), nil
}

func stringKeys(v any) any {
	switch v := v.(type) {
	case []any:
		for i := range v {
			v[i] = stringKeys(v[i])
		}
	case map[any]any:
		for k := range v {
			if _, ok := k.(string); !ok {
				for k, e := range v {
					v[k] = stringKeys(e)
				}
				return v
			}
		}
		sm := make(map[string]any, len(v))
		for k, e := range v {
			sm[k.(string)] = stringKeys(e)
		}
		return sm
	}
	return v
}

// errPayload rejects a plaintext that authenticated but is not a payload
// crumb accepts.
var errPayload = crypto.Invalid(crypto.ReasonPayload)

// decodePayload reads and checks a sealed payload as docs/FORMAT.md
// specifies: one CBOR map in the subset of cbor.go with keys 1 to 9 in
// order, each of its type, keys 5 to 9 absent rather than empty, each
// stored value nesting at most valueNesting levels, and consistent times.
// The stored values it returns alias b. Its errors are errPayload.
func decodePayload(b []byte) (*payload, error) {
	p, err := readPayload(b)
	if err != nil {
		return nil, errPayload
	}
	return p, nil
}

func readPayload(b []byte) (*payload, error) {
	r := cborReader{b: b}
	major, _, n, err := r.head()
	if err != nil || major != majorMap || !r.fits(n) {
		return nil, errCBOR
	}
	p := new(payload)
	last, seen := uint64(0), 0
	for range n {
		major, _, key, err := r.head()
		if err != nil || major != majorUint || key <= last {
			return nil, errCBOR // not an unsigned key, out of order or repeated
		}
		last = key
		if key < 10 {
			seen |= 1 << key
		}
		switch key {
		case 1:
			if p.ID, err = r.bytes(majorBytes); err == nil && len(p.ID) != idLen {
				err = errCBOR
			}
		case 2:
			p.IssuedAt, err = r.time()
		case 3:
			p.SavedAt, err = r.time()
		case 4:
			p.Deadline, err = r.time()
		case 5:
			p.Expiry, err = r.expiry()
		case 6:
			var s []byte
			if s, err = r.bytes(majorText); err == nil && len(s) == 0 {
				err = errCBOR
			}
			p.Subject = string(s)
		case 7:
			p.Data, err = r.data()
		case 8:
			p.Value, err = r.value()
		case 9:
			p.Flashes, err = r.flashes()
		default:
			err = errCBOR
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case r.off != len(b), seen&0b11110 != 0b11110:
		return nil, errCBOR // trailing bytes, or a required key missing
	case !(p.IssuedAt <= p.SavedAt && p.SavedAt < p.Deadline):
		return nil, errCBOR
	}
	return p, nil
}

// bytes reads a byte or text string (major) and returns its content,
// aliasing the input.
func (r *cborReader) bytes(major byte) ([]byte, error) {
	start := r.off
	m, _, n, err := r.head()
	if err != nil || m != major {
		return nil, errCBOR
	}
	r.off = start
	if _, err := r.item(0); err != nil { // checks length and UTF-8
		return nil, err
	}
	return r.b[r.off-int(n) : r.off], nil
}

// uint reads an unsigned integer below 2⁶³.
func (r *cborReader) uint() (int64, error) {
	m, _, v, err := r.head()
	if err != nil || m != majorUint || v > math.MaxInt64 {
		return 0, errCBOR
	}
	return int64(v), nil
}

// time reads a time: Unix nanoseconds, 0 to 2⁶³-1.
func (r *cborReader) time() (int64, error) { return r.uint() }

// expiry reads [kind, value]: kind 1 with value 0, kind 2 with a positive
// idle window in nanoseconds, or kind 3 with a deadline in Unix
// nanoseconds.
func (r *cborReader) expiry() (*expiryWire, error) {
	m, _, n, err := r.head()
	if err != nil || m != majorArray || n != 2 {
		return nil, errCBOR
	}
	kind, err := r.uint()
	if err != nil {
		return nil, err
	}
	value, err := r.uint()
	if err != nil {
		return nil, err
	}
	w := &expiryWire{Kind: uint8(min(kind, math.MaxUint8)), Value: value}
	if _, ok := w.expiry(); !ok || kind > math.MaxUint8 {
		return nil, errCBOR
	}
	return w, nil
}

// value reads one stored value and returns its encoding.
func (r *cborReader) value() (cbor.RawMessage, error) {
	start := r.off
	if _, err := r.item(valueNesting); err != nil {
		return nil, err
	}
	return r.b[start:r.off:r.off], nil
}

// data reads the non-empty map of text keys to stored values.
func (r *cborReader) data() (map[string]cbor.RawMessage, error) {
	m, _, n, err := r.head()
	if err != nil || m != majorMap || n == 0 || !r.fits(n) {
		return nil, errCBOR
	}
	data := make(map[string]cbor.RawMessage, n)
	var prev []byte
	for i := range n {
		start := r.off
		key, err := r.bytes(majorText)
		if err != nil {
			return nil, err
		}
		enc := r.b[start:r.off]
		if i > 0 && string(prev) >= string(enc) {
			return nil, errCBOR // out of order, or a duplicate
		}
		prev = enc
		if data[string(key)], err = r.value(); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// flashes reads the non-empty array of stored values.
func (r *cborReader) flashes() ([]cbor.RawMessage, error) {
	m, _, n, err := r.head()
	if err != nil || m != majorArray || n == 0 || !r.fits(n) {
		return nil, errCBOR
	}
	out := make([]cbor.RawMessage, n)
	for i := range out {
		if out[i], err = r.value(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
