package cookiesession

import (
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	"github.com/crumbhq/crumb/crypto"
	"github.com/fxamacker/cbor/v2"
)

// payload is the plaintext sealed in a session cookie: a CBOR map with small
// integer keys, specified in docs/FORMAT.md. Times are Unix seconds.
type payload struct {
	ID       []byte                     `cbor:"1,keyasint"`           // session ID, idLen random bytes
	IssuedAt int64                      `cbor:"2,keyasint"`           // when the ID was minted
	SavedAt  int64                      `cbor:"3,keyasint"`           // last save: starts the idle window
	Deadline int64                      `cbor:"4,keyasint"`           // the session is valid while now <= Deadline
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

// maxNesting bounds how deep the payload nests (arrays, maps and tags count
// together). A stored value sits two levels down (payload map, data map),
// so values may nest valueNesting levels.
const (
	maxNesting   = 8
	valueNesting = maxNesting - 2
)

// The CBOR modes are built once, by the first New, not in init: a process
// that imports the package but builds no Manager pays nothing.
var (
	encMode cbor.EncMode
	// payloadDec decodes the sealed payload as hostile input (see
	// docs/FORMAT.md and security.md §3.1): duplicate keys, unknown
	// fields, indefinite lengths, tags, NaN, Inf and oversize containers
	// are all errors.
	payloadDec cbor.DecMode
	// valueDec decodes stored values into the caller's types, with the
	// same limits but tolerating fields the caller's type lacks, so that
	// removing a struct field does not invalidate live sessions.
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
	strict := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		TimeTag:           cbor.DecTagIgnored,
		MaxNestedLevels:   maxNesting,
		MaxArrayElements:  limit,
		MaxMapPairs:       limit,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		DefaultMapType:    reflect.TypeFor[map[string]any](),
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		BignumTag:         cbor.BignumTagForbidden,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
		BinaryUnmarshaler: cbor.BinaryUnmarshalerNone,
		TextUnmarshaler:   cbor.TextUnmarshalerNone,
	}
	if payloadDec, err = strict.DecMode(); err != nil {
		panic(err)
	}
	vo := strict
	vo.MaxNestedLevels = valueNesting
	vo.ExtraReturnErrors = cbor.ExtraDecErrorNone
	if valueDec, err = vo.DecMode(); err != nil {
		panic(err)
	}
	vo.DefaultMapType = nil
	if anyDec, err = vo.DecMode(); err != nil {
		panic(err)
	}
})

// encodeValue encodes v for storage, and checks that the session decoder
// accepts it and that it decodes back into v's own type: nothing a handler
// stores can make its session unreadable, or fail to come back with Get.
func encodeValue(v any) (cbor.RawMessage, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if err := valueDec.Wellformed(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if v != nil {
		if err := valueDec.Unmarshal(b, reflect.New(reflect.TypeOf(v)).Interface()); err != nil {
			return nil, fmt.Errorf("%w: does not decode back: %v", ErrEncode, err)
		}
	}
	return b, nil
}

// checkText refuses a key or subject that the payload decoder would reject
// (CBOR text must be valid UTF-8), so that storing it cannot make the whole
// session unreadable on the next request.
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

// decodePayload decodes and checks a sealed payload. Its errors are
// crypto.ErrInvalid with ReasonPayload.
func decodePayload(b []byte) (*payload, error) {
	p := new(payload)
	if err := payloadDec.Unmarshal(b, p); err != nil {
		return nil, crypto.Invalid(crypto.ReasonPayload)
	}
	if len(p.ID) != idLen || p.IssuedAt > p.SavedAt || p.SavedAt > p.Deadline {
		return nil, crypto.Invalid(crypto.ReasonPayload)
	}
	if p.Expiry != nil {
		if _, ok := p.Expiry.expiry(); !ok {
			return nil, crypto.Invalid(crypto.ReasonPayload)
		}
	}
	return p, nil
}
