package jsonnum

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want any
	}{
		{"integer", `7`, int64(7)},
		{"negative", `-9223372036854775808`, int64(-9223372036854775808)},
		{"beyond int64", `9223372036854775808`, float64(9223372036854775808)},
		{"fraction", `1.5`, 1.5},
		{"beyond float64", `1e999`, "1e999"},
		{"nested", `{"a":[1,{"b":2.5}],"s":"x"}`, map[string]any{"a": []any{int64(1), map[string]any{"b": 2.5}}, "s": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := json.NewDecoder(strings.NewReader(tc.in))
			d.UseNumber()
			var v any
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if got := Convert(v); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Convert(%s) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}
