package cookiesession

import (
	"encoding"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
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
	ID       []byte                     // 1: session ID, idLen random bytes
	IssuedAt int64                      // 2: when the ID was minted
	SavedAt  int64                      // 3: last save: starts the idle window
	Deadline int64                      // 4: the session is valid while now < Deadline
	Expiry   *expiryWire                // 5: custom expiry, if any
	Subject  string                     // 6: for revocation checks
	Data     map[string]cbor.RawMessage // 7: dict-like values
	RawData  rawData                    // 7 as read, until Data is built from it (at most one of the two is set)
	Value    cbor.RawMessage            // 8: typed-mode value
	Flashes  []cbor.RawMessage          // 9: pending flash messages
	// Ext holds extension fields (keys 16 to 63) that a later version of
	// crumb wrote: this one does not know them, and keeps them as they
	// are, in key order, when it seals the session again.
	Ext []extField
}

// extField is an extension field kept verbatim.
type extField struct {
	Key   uint64
	Value cbor.RawMessage
}

// The payload's key ranges (docs/FORMAT.md, "Fields"): keys 1 to 15 are
// crumb's own, and a reader refuses one it does not know; keys from
// minExtKey to maxExtKey are extensions, which a reader that does not know
// them checks, ignores and keeps.
const (
	minExtKey = 16
	maxExtKey = 63
)

// expiryWire is a custom expiry: [kind, value].
type expiryWire struct {
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
// the encoder, and types that would be stored as something else). A value
// too large for any cookie is refused with ErrTooLarge.
func encodeValue(v any) (cbor.RawMessage, error) {
	if s, ok := v.(string); ok && len(s) > crypto.MaxPlaintext {
		return nil, errValueTooLarge
	}
	if b, ok := appendScalar(nil, v); ok {
		if len(b) > crypto.MaxPlaintext {
			return nil, errValueTooLarge
		}
		return b, nil
	}
	if err := checkStorable(v); err != nil {
		return nil, err
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if len(b) > crypto.MaxPlaintext {
		return nil, errValueTooLarge
	}
	if err := checkValue(b); err != nil {
		return nil, fmt.Errorf("%w: not a storable value (integers must fit int64, no NaN or infinity, at most %d nested levels, no tags)", ErrEncode, valueNesting)
	}
	if v != nil && !plainType(reflect.TypeOf(v)) {
		if err := valueDec.Unmarshal(b, reflect.New(reflect.TypeOf(v)).Interface()); err != nil {
			return nil, fmt.Errorf("%w: does not decode back: %v", ErrEncode, err)
		}
	}
	return b, nil
}

// plainType reports whether every value of t that encodes into the subset
// (checkValue) decodes back into a t, so that encodeValue need not try:
// booleans, numbers, strings, and slices, arrays, maps, pointers and
// structs made of them, where no type encodes itself (a Marshaler, a
// time.Time), no interface can hold something else, no struct embeds
// another (whose fields a decoder may be unable to reach) and map keys
// are strings or integers. Results are cached per type.
func plainType(t reflect.Type) bool {
	if p, ok := plainCache.Load(t); ok {
		return p.(bool)
	}
	p := isPlain(t, map[reflect.Type]bool{})
	plainCache.Store(t, p)
	return p
}

var plainCache sync.Map // reflect.Type → bool

// isPlain is plainType without the cache; seen holds the types on the
// path from the root, so that a recursive type is judged once.
func isPlain(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true // judged where the recursion started
	}
	if t == typeTime || t == typeBigInt || t == typeRawMessage || t.Implements(typeMarshaler) || t.Implements(typeBinaryMarsh) ||
		reflect.PointerTo(t).Implements(typeMarshaler) || reflect.PointerTo(t).Implements(typeBinaryMarsh) ||
		reflect.PointerTo(t).Implements(typeUnmarshaler) || reflect.PointerTo(t).Implements(typeBinaryUnmarsh) {
		return false
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return isPlain(t.Elem(), seen)
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		default:
			return false
		}
		return isPlain(t.Key(), seen) && isPlain(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return false
			}
			if f.IsExported() && !isPlain(f.Type, seen) {
				return false
			}
		}
		return true
	}
	return false // interfaces, channels, funcs, complex numbers, unsafe pointers
}

// errValueTooLarge refuses a value whose encoding exceeds what any cookie
// can hold.
var errValueTooLarge = fmt.Errorf("%w: the value alone encodes to more than %d bytes", ErrTooLarge, crypto.MaxPlaintext)

// Bounds of checkStorable's walk. Containers deeper than valueNesting
// cannot be stored; pointer and interface hops between them are bounded
// apart, so that a cycle through pointers alone is caught too; and the
// bytes the value must encode to at the least (a byte per scalar, element
// and pair, and the content of every string) are counted as the walk
// goes, so that a value sharing its parts many times over, which would
// encode to gigabytes, costs no more than walking a value that fits a
// cookie.
const maxHops = 64

var (
	typeBigInt        = reflect.TypeFor[big.Int]()
	typeTime          = reflect.TypeFor[time.Time]()
	typeMarshaler     = reflect.TypeFor[cbor.Marshaler]()
	typeBinaryMarsh   = reflect.TypeFor[encoding.BinaryMarshaler]()
	typeRawMessage    = reflect.TypeFor[cbor.RawMessage]()
	typeUnmarshaler   = reflect.TypeFor[cbor.Unmarshaler]()
	typeBinaryUnmarsh = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	errTooDeep        = fmt.Errorf("%w: nests deeper than %d levels, or holds a cycle", ErrEncode, valueNesting)
)

// checkStorable walks v as the encoder will, before it does: a value that
// contains itself would make the encoder recurse until the process dies,
// which no recover can stop. It also refuses what the encoder would store
// silently as something else: a math/big.Int (an integer only when it
// fits int64, a tag otherwise) and a struct with fields but none that
// encode (stored as an empty map, its contents lost).
func checkStorable(v any) error {
	w := walker{budget: crypto.MaxPlaintext}
	return w.walk(reflect.ValueOf(v), 0, 0)
}

// walker walks a value as the encoder would.
type walker struct {
	budget int // bytes the value may still need
}

// spend takes n bytes from the budget.
func (w *walker) spend(n int) error {
	if w.budget -= n; w.budget < 0 {
		return errValueTooLarge
	}
	return nil
}

func (w *walker) walk(v reflect.Value, depth, hops int) error {
	if !v.IsValid() {
		return w.spend(1) // nil: null
	}
	t := v.Type()
	if t == typeBigInt || (t.Kind() == reflect.Pointer && t.Elem() == typeBigInt) {
		return fmt.Errorf("%w: a math/big.Int is not stored as such: store its text (Int.String) or bytes", ErrEncode)
	}
	switch t {
	case typeTime, typeRawMessage:
		return w.spend(1)
	}
	if t.NumMethod() > 0 && (t.Implements(typeMarshaler) || t.Implements(typeBinaryMarsh)) {
		return w.spend(1) // the type encodes itself
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return w.spend(1)
		}
		if hops >= maxHops {
			return errTooDeep
		}
		return w.walk(v.Elem(), depth, hops+1)
	case reflect.String:
		return w.spend(1 + v.Len())
	case reflect.Slice, reflect.Map:
		if v.IsNil() {
			return w.spend(1) // encoded as null: no level
		}
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.spend(1 + v.Len()) // a byte string
		}
		if depth >= valueNesting {
			return errTooDeep
		}
		if err := w.spend(1 + v.Len()); err != nil {
			return err
		}
		for i := range v.Len() {
			if err := w.walk(v.Index(i), depth+1, 0); err != nil {
				return err
			}
		}
	case reflect.Map:
		if depth >= valueNesting {
			return errTooDeep
		}
		if err := w.spend(1 + v.Len()); err != nil {
			return err
		}
		for it := v.MapRange(); it.Next(); {
			if err := w.walk(it.Key(), depth+1, 0); err != nil {
				return err
			}
			if err := w.walk(it.Value(), depth+1, 0); err != nil {
				return err
			}
		}
	case reflect.Struct:
		fields, clash := encodedFields(t)
		if clash != "" {
			return fmt.Errorf("%w: %v has several fields named %q at one depth, which hide each other: none of them would be stored", ErrEncode, t, clash)
		}
		if len(fields) == 0 && t.NumField() > 0 {
			return fmt.Errorf("%w: %v has no field the encoder writes (each is unexported, skipped or hidden by another of its name): it would be stored as an empty map and lose its contents", ErrEncode, t)
		}
		if depth >= valueNesting {
			return errTooDeep
		}
		if err := w.spend(1 + len(fields)); err != nil {
			return err
		}
		for _, idx := range fields {
			fv, ok := fieldByIndex(v, idx)
			if !ok {
				continue // inside a nil embedded pointer: not encoded
			}
			if err := w.walk(fv, depth+1, 0); err != nil {
				return err
			}
		}
	default:
		return w.spend(1)
	}
	return nil
}

// fieldByIndex returns the field at the index path idx, following embedded
// pointers, and false if one of them is nil, as the encoder does.
func fieldByIndex(v reflect.Value, idx []int) (reflect.Value, bool) {
	for i, n := range idx {
		if i > 0 {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return reflect.Value{}, false
				}
				v = v.Elem()
			}
		}
		v = v.Field(n)
	}
	return v, true
}

// encodedFields returns the index paths of the fields the CBOR encoder
// writes for struct type t, following the rules it shares with
// encoding/json: exported fields, and the fields of embedded structs (even
// of unexported types) promoted into t, breadth first, unless a field is
// tagged "-" (the cbor tag, or else the json tag) or is hidden by a field
// of the same name at a shallower depth, or by a tagged one at the same
// depth; an embedded struct with a name in its tag is a field like any
// other. clash names fields hidden by a tie (several of one name at one
// depth, all tagged or none), which the encoder drops without a word.
// Results are cached per type.
func encodedFields(t reflect.Type) (fields [][]int, clash string) {
	if f, ok := fieldCache.Load(t); ok {
		e := f.(fieldsEntry)
		return e.fields, e.clash
	}
	type candidate struct {
		name     string
		keyAsInt bool
		idx      []int
		tagged   bool
	}
	var found []candidate
	type level struct {
		t   reflect.Type
		idx []int
	}
	next := []level{{t, nil}}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.t]++
		}
		for _, l := range current {
			// A type embedded twice at one depth is ambiguous: neither
			// copy's fields are promoted. A type met at a shallower depth
			// is not walked again.
			if count[l.t] > 1 || visited[l.t] {
				continue
			}
			visited[l.t] = true
			for i := range l.t.NumField() {
				f := l.t.Field(i)
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
					continue
				}
				tag, ok := f.Tag.Lookup("cbor")
				if !ok || tag == "" {
					tag = f.Tag.Get("json")
				}
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				idx := append(slices.Clone(l.idx), i)
				if f.Anonymous && ft.Kind() == reflect.Struct && name == "" {
					next = append(next, level{ft, idx})
					continue
				}
				c := candidate{name: name, idx: idx, tagged: tag != ""}
				if c.name == "" {
					c.name = f.Name
				}
				for o := range strings.SplitSeq(opts, ",") {
					if o == "keyasint" {
						c.keyAsInt = true
						if n, err := strconv.Atoi(c.name); err == nil {
							c.name = strconv.Itoa(n)
						}
					}
				}
				found = append(found, c)
			}
		}
	}
	// Of the fields sharing a name, the shallowest wins, then a tagged
	// one at that depth; a tie hides them all.
	slices.SortStableFunc(found, func(a, b candidate) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.keyAsInt != b.keyAsInt {
			if a.keyAsInt {
				return -1
			}
			return 1
		}
		if c := len(a.idx) - len(b.idx); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.idx, b.idx)
	})
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].name == found[i].name && found[j].keyAsInt == found[i].keyAsInt {
			j++
		}
		if j == i+1 || len(found[i].idx) < len(found[i+1].idx) || (found[i].tagged && !found[i+1].tagged) {
			fields = append(fields, found[i].idx)
		} else if clash == "" {
			clash = found[i].name
		}
		i = j
	}
	fieldCache.Store(t, fieldsEntry{fields, clash})
	return fields, clash
}

// fieldsEntry is what encodedFields caches for a type.
type fieldsEntry struct {
	fields [][]int
	clash  string
}

var fieldCache sync.Map // reflect.Type → [][]int

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
	if decodeScalar(raw, dst) {
		return nil
	}
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
// specifies: one CBOR map in the subset of cbor.go with keys in order,
// keys 1 to 9 each of its type and 5 to 9 absent rather than empty,
// extension keys 16 to 63 holding values, no other key, each stored value
// nesting at most valueNesting levels, and consistent times. The stored
// values it returns alias b. Its errors are errPayload.
func decodePayload(b []byte, p *payload) error {
	if err := readPayload(b, p); err != nil {
		*p = payload{}
		return errPayload
	}
	return nil
}

func readPayload(b []byte, p *payload) error {
	r := cborReader{b: b}
	major, _, n, err := r.head()
	if err != nil || major != majorMap || !r.fits(n) {
		return errCBOR
	}
	last, seen := uint64(0), 0
	for range n {
		major, _, key, err := r.head()
		if err != nil || major != majorUint || key <= last {
			return errCBOR // not an unsigned key, out of order or repeated
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
			p.RawData, err = r.data()
		case 8:
			p.Value, err = r.value()
		case 9:
			p.Flashes, err = r.flashes()
		default:
			if key < minExtKey || key > maxExtKey {
				err = errCBOR // a core field this version does not know, or outside both ranges
				break
			}
			var v cbor.RawMessage
			if v, err = r.value(); err == nil {
				p.Ext = append(p.Ext, extField{Key: key, Value: v})
			}
		}
		if err != nil {
			return err
		}
	}
	switch {
	case r.off != len(b), seen&0b11110 != 0b11110:
		return errCBOR // trailing bytes, or a required key missing
	case !(p.IssuedAt <= p.SavedAt && p.SavedAt < p.Deadline):
		return errCBOR
	}
	return nil
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

// data checks the non-empty map of text keys to stored values and returns
// its encoding: the map is built only if the session needs it
// (rawData.build), and a key is looked up in the encoding itself.
func (r *cborReader) data() (rawData, error) {
	start := r.off
	m, _, n, err := r.head()
	if err != nil || m != majorMap || n == 0 || !r.fits(n) {
		return nil, errCBOR
	}
	var prev []byte
	for i := range n {
		kstart := r.off
		if _, err := r.bytes(majorText); err != nil {
			return nil, err
		}
		enc := r.b[kstart:r.off]
		if i > 0 && string(prev) >= string(enc) {
			return nil, errCBOR // out of order, or a duplicate
		}
		prev = enc
		if _, err := r.value(); err != nil {
			return nil, err
		}
	}
	return rawData(r.b[start:r.off:r.off]), nil
}

// rawData is the encoding of a session's data (payload field 7), as data
// checked it: a map of text keys, in order, to stored values.
type rawData []byte

// pairs calls f with each key and value of d, in order, until f returns
// false. The values alias d.
func (d rawData) pairs(f func(key []byte, value cbor.RawMessage) bool) {
	r := cborReader{b: d}
	_, _, n, _ := r.head()
	for range n {
		_, _, klen, err := r.head()
		if err != nil || !r.fits(klen) {
			return
		}
		key := d[r.off : r.off+int(klen)]
		r.off += int(klen)
		start := r.off
		if !r.skip() {
			return
		}
		if !f(key, cbor.RawMessage(d[start:r.off:r.off])) {
			return
		}
	}
}

// skip moves past one item that data has checked, without checking it
// again. It reports false, never panicking, if the input ends early.
func (r *cborReader) skip() bool {
	major, _, arg, err := r.head()
	if err != nil {
		return false
	}
	switch major {
	case majorBytes, majorText:
		if !r.fits(arg) {
			return false
		}
		r.off += int(arg)
	case majorArray, majorMap:
		n := arg
		if major == majorMap {
			n *= 2
		}
		for range n {
			if !r.skip() {
				return false
			}
		}
	}
	return true
}

// len returns how many keys d holds.
func (d rawData) len() int {
	if d == nil {
		return 0
	}
	r := cborReader{b: d}
	_, _, n, _ := r.head()
	return int(n)
}

// get returns the value of key, aliasing d. Keys are in the order of
// their encodings, shorter first, so the search stops at the first
// larger one.
func (d rawData) get(key string) (v cbor.RawMessage, ok bool) {
	d.pairs(func(k []byte, value cbor.RawMessage) bool {
		if len(k) > len(key) || (len(k) == len(key) && string(k) >= key) {
			v, ok = value, string(k) == key
			return false
		}
		return true
	})
	return v, ok
}

// build returns d as a map whose values alias d.
func (d rawData) build() map[string]cbor.RawMessage {
	if d == nil {
		return nil
	}
	m := make(map[string]cbor.RawMessage, d.len())
	d.pairs(func(k []byte, v cbor.RawMessage) bool {
		m[string(k)] = v
		return true
	})
	return m
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

// appendPayload appends the encoding of p to dst: the canonical form
// decodePayload reads, with the extension fields in key order after the
// core ones.
func appendPayload(dst []byte, p *payload) []byte {
	n := 4 + len(p.Ext)
	for _, present := range []bool{p.Expiry != nil, p.Subject != "", len(p.Data) > 0 || p.RawData != nil, p.Value != nil, len(p.Flashes) > 0} {
		if present {
			n++
		}
	}
	dst = appendHead(dst, majorMap, uint64(n))
	dst = appendHead(dst, majorUint, 1)
	dst = append(appendHead(dst, majorBytes, uint64(len(p.ID))), p.ID...)
	for i, t := range []int64{p.IssuedAt, p.SavedAt, p.Deadline} {
		dst = appendHead(dst, majorUint, uint64(2+i))
		dst = appendHead(dst, majorUint, uint64(t))
	}
	if p.Expiry != nil {
		dst = appendHead(dst, majorUint, 5)
		dst = appendHead(dst, majorArray, 2)
		dst = appendHead(dst, majorUint, uint64(p.Expiry.Kind))
		dst = appendHead(dst, majorUint, uint64(p.Expiry.Value))
	}
	if p.Subject != "" {
		dst = appendHead(dst, majorUint, 6)
		dst = append(appendHead(dst, majorText, uint64(len(p.Subject))), p.Subject...)
	}
	if p.RawData != nil {
		dst = appendHead(dst, majorUint, 7)
		dst = append(dst, p.RawData...) // as read: already canonical
	} else if len(p.Data) > 0 {
		dst = appendHead(dst, majorUint, 7)
		dst = appendHead(dst, majorMap, uint64(len(p.Data)))
		// Text keys in the order of their encodings: shorter first, then
		// bytewise, since the head encodes the length.
		var room [16]string // most sessions have few keys: sort them without allocating
		keys := room[:0]
		for k := range p.Data {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			dst = append(appendHead(dst, majorText, uint64(len(k))), k...)
			dst = append(dst, p.Data[k]...)
		}
	}
	if p.Value != nil {
		dst = appendHead(dst, majorUint, 8)
		dst = append(dst, p.Value...)
	}
	if len(p.Flashes) > 0 {
		dst = appendHead(dst, majorUint, 9)
		dst = appendHead(dst, majorArray, uint64(len(p.Flashes)))
		for _, f := range p.Flashes {
			dst = append(dst, f...)
		}
	}
	for _, e := range p.Ext {
		dst = appendHead(dst, majorUint, e.Key)
		dst = append(dst, e.Value...)
	}
	return dst
}

// payloadSizeHint returns at least the length of p's encoding, for
// sizing the buffer appendPayload writes into.
func payloadSizeHint(p *payload) int {
	const head = 9 // the longest head
	n := 1 + 2 + head + len(p.ID) + 3*(1+head) + 2 + 2*head + 1 + head + len(p.Subject) + 2 + head + len(p.RawData) + 1 + len(p.Value) + 2 + head
	for k, v := range p.Data {
		n += head + len(k) + len(v)
	}
	for _, f := range p.Flashes {
		n += len(f)
	}
	for _, e := range p.Ext {
		n += head + len(e.Value)
	}
	return n
}

// appendHead appends the shortest head of major type major with argument
// arg.
func appendHead(dst []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(dst, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(dst, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return append(dst, m|25, byte(arg>>8), byte(arg))
	case arg <= math.MaxUint32:
		return append(dst, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
	return append(dst, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32), byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
}
