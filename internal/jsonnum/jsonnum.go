// Package jsonnum turns the json.Numbers a decoder with UseNumber leaves in
// a value into Go numbers that crumb stores as CBOR integers or floats.
// The crumb command and package migrate both store JSON sessions.
package jsonnum

import "encoding/json"

// Convert replaces, in place and at any depth of maps and slices, each
// json.Number in v with an int64 if it is an integer that fits, else a
// float64 if it is finite, else its text; it returns v, or the number.
func Convert(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case map[string]any:
		for k, e := range v {
			v[k] = Convert(e)
		}
	case []any:
		for i, e := range v {
			v[i] = Convert(e)
		}
	}
	return v
}
