package django

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"
)

// golden is testdata/golden.json: cookies made by Django itself (see
// testdata/gen.py for how to make them again).
type golden struct {
	Django    string   `json:"django"`
	SecretKey string   `json:"secret_key"`
	Fallbacks []string `json:"fallbacks"`
	SignedAt  int64    `json:"signed_at"`
	Cookies   []struct {
		Name  string         `json:"name"`
		Value string         `json:"value"`
		Data  map[string]any `json:"data"`
		Error string         `json:"error"`
	} `json:"cookies"`
}

func readGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// normalize turns json.Numbers into float64, as the golden data decodes.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

func TestGoldenCookies(t *testing.T) {
	t.Parallel()
	g := readGolden(t)
	r := &Reader{SecretKey: g.SecretKey, Fallbacks: g.Fallbacks}
	signed := time.Unix(g.SignedAt, 0)
	errs := map[string]error{"signature": ErrSignature, "format": ErrFormat}
	for _, c := range g.Cookies {
		t.Run(c.Name, func(t *testing.T) {
			data, err := r.Open(c.Value, signed.Add(time.Hour))
			if c.Error != "" {
				if !errors.Is(err, errs[c.Error]) || data != nil {
					t.Fatalf("Open = %v, %v; want %v", data, err, errs[c.Error])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := normalize(data), normalize(c.Data); !reflect.DeepEqual(got, want) {
				t.Errorf("data %v, want %v", got, want)
			}
		})
	}
}

func TestExpiryAndKeys(t *testing.T) {
	t.Parallel()
	g := readGolden(t)
	valid := g.Cookies[0].Value
	signed := time.Unix(g.SignedAt, 0)
	r := &Reader{SecretKey: g.SecretKey}
	if _, err := r.Open(valid, signed.Add(14*24*time.Hour)); err != nil {
		t.Errorf("at Django's SESSION_COOKIE_AGE: %v", err)
	}
	if _, err := r.Open(valid, signed.Add(14*24*time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
		t.Errorf("a second past SESSION_COOKIE_AGE: %v, want ErrExpired", err)
	}
	short := &Reader{SecretKey: g.SecretKey, MaxAge: time.Hour}
	if _, err := short.Open(valid, signed.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("MaxAge 1h, 2h later: %v", err)
	}
	// The fallback key's cookie needs the fallback.
	var fallback string
	for _, c := range g.Cookies {
		if c.Name == "fallback key" {
			fallback = c.Value
		}
	}
	if _, err := r.Open(fallback, signed); !errors.Is(err, ErrSignature) {
		t.Errorf("a cookie of a fallback key opened without it: %v", err)
	}
	if _, err := (&Reader{}).Open(valid, signed); err == nil {
		t.Error("a Reader without a key opened a cookie")
	}
	small := &Reader{SecretKey: g.SecretKey, MaxSize: 100}
	if _, err := small.Open(g.Cookies[1].Value, signed); !errors.Is(err, ErrFormat) {
		t.Errorf("a payload over MaxSize: %v, want ErrFormat", err)
	}
}

// TestEveryTruncation: no prefix of a valid cookie opens.
func TestEveryTruncation(t *testing.T) {
	t.Parallel()
	g := readGolden(t)
	r := &Reader{SecretKey: g.SecretKey, Fallbacks: g.Fallbacks}
	valid := g.Cookies[0].Value
	for i := range len(valid) {
		if data, err := r.Open(valid[:i], time.Unix(g.SignedAt, 0)); err == nil {
			t.Fatalf("the first %d characters opened: %v", i, data)
		}
	}
}

// TestGoldenFromDjango makes the golden cookies again with Django itself
// (Debian's python3-django) and checks that testdata/golden.json holds
// exactly them: Django's signing is deterministic at a fixed time. Without
// Django the test skips, unless CRUMB_REQUIRE_DJANGO=1 (as in CI).
func TestGoldenFromDjango(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("/usr/bin/python3", "testdata/gen.py").Output()
	if err != nil {
		msg := "no Django for /usr/bin/python3 (Debian: apt-get install python3-django): " + err.Error()
		if os.Getenv("CRUMB_REQUIRE_DJANGO") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	want, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("Django makes other cookies than testdata/golden.json holds; regenerate it with testdata/gen.py")
	}
}
