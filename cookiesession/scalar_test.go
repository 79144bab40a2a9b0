package cookiesession

// The scalar fast paths against the CBOR encoder and decoder they stand in
// for: same bytes, same values, and the general way for everything else.
// An internal test, as buffers_test.go: the paths are invisible from
// outside, by design.

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

func TestScalarsEncodeAsTheEncoder(t *testing.T) {
	t.Parallel()
	buildModes()
	for _, tc := range []struct {
		name string
		v    any
		fast bool // appendScalar takes it
	}{
		{"empty string", "", true},
		{"string", "john_doe", true},
		{"23-byte string", "01234567890123456789012", true},
		{"24-byte string", "012345678901234567890123", true},
		{"non-ASCII string", "café ☕", true},
		{"invalid UTF-8", "\xff", false},
		{"true", true, true},
		{"false", false, true},
		{"zero", 0, true},
		{"23", 23, true},
		{"24", 24, true},
		{"-1", -1, true},
		{"-24", -24, true},
		{"-25", -25, true},
		{"int8 min", int8(math.MinInt8), true},
		{"int16", int16(-300), true},
		{"int32 max", int32(math.MaxInt32), true},
		{"int64 min", int64(math.MinInt64), true},
		{"int64 max", int64(math.MaxInt64), true},
		{"uint8", uint8(255), true},
		{"uint16", uint16(65535), true},
		{"uint32", uint32(math.MaxUint32), true},
		{"uint max int64", uint64(math.MaxInt64), true},
		{"uint over int64", uint64(math.MaxInt64 + 1), false},
		{"uint", uint(7), true},
		{"named string", namedString("x"), false},
		{"float", 1.5, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := appendScalar(nil, tc.v)
			if ok != tc.fast {
				t.Fatalf("appendScalar took it: %v, want %v", ok, tc.fast)
			}
			if !ok {
				return
			}
			want, err := encMode.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("appendScalar = %x, the encoder writes %x", got, want)
			}
		})
	}
}

type namedString string

func TestScalarsDecodeAsTheDecoder(t *testing.T) {
	t.Parallel()
	buildModes()
	stored := []any{"", "john_doe", "café", true, false, 0, 1, -1, 255, -256, 1 << 40,
		int64(math.MaxInt64), int64(math.MinInt64), 1.5, []int{1}, map[string]int{"a": 1}, nil}
	targets := []func() any{
		func() any { return new(string) },
		func() any { return new(bool) },
		func() any { return new(int) },
		func() any { return new(int64) },
	}
	for _, v := range stored {
		raw, err := encMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			fast, general := target(), target()
			fastErr := decodeValue(raw, fast)
			generalErr := valueDec.Unmarshal(raw, general)
			if (fastErr == nil) != (generalErr == nil) {
				t.Errorf("%#v into %T: decodeValue error %v, the decoder's %v", v, fast, fastErr, generalErr)
				continue
			}
			if fastErr == nil && !reflect.DeepEqual(fast, general) {
				t.Errorf("%#v into %T: decodeValue gives %v, the decoder %v", v, fast, reflect.ValueOf(fast).Elem(), reflect.ValueOf(general).Elem())
			}
		}
	}
}
