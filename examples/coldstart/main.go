// Command coldstart measures what crumb costs a fresh process, as a
// serverless or edge function pays it on every cold start. In order, it
// times with time.Now:
//
//	keys      parsing the key list in CRUMB_KEYS (or, without it,
//	          generating a throwaway key)
//	new       cookiesession.New
//	first     a first request: Load with no cookie, Set, Commit (one seal)
//	second    a request carrying that cookie: Load, Get, Commit (one open)
//
// and prints one JSON line with the durations in microseconds, never a
// key or a cookie:
//
//	$ CRUMB_KEYS="primary crumbkey1_..." go run ./examples/coldstart
//	{"keys_us":58.3,"new_us":24.5,"first_us":105.6,"second_us":22.7,"throwaway":false}
//
// Package initialisation happens before main and is not in these figures;
// run with GODEBUG=inittrace=1 to see it. coldstart_test.go runs the
// program as fresh processes, checks the figures against generous bounds
// and reports the medians.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// timings are the phases, in microseconds.
type timings struct {
	Keys      float64 `json:"keys_us"`
	New       float64 `json:"new_us"`
	First     float64 `json:"first_us"`
	Second    float64 `json:"second_us"`
	Throwaway bool    `json:"throwaway"`
}

func main() {
	t, err := measure()
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(t)
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func measure() (timings, error) {
	var t timings
	ctx := context.Background()

	start := time.Now()
	keys, err := rotation.FromEnv("CRUMB_KEYS")
	if errors.Is(err, rotation.ErrNoKeys) {
		t.Throwaway = true
		var k *crypto.Key
		if k, err = crypto.GenerateKey(); err == nil {
			keys, err = rotation.NewKeyring(k)
		}
	}
	if err != nil {
		return t, err
	}
	t.Keys = micros(time.Since(start))

	start = time.Now()
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys})
	if err != nil {
		return t, err
	}
	t.New = micros(time.Since(start))

	start = time.Now()
	s := sessions.Load(ctx)
	if err := s.Set("count", 1); err != nil {
		return t, err
	}
	h := http.Header{}
	if err := sessions.Commit(s, http.StatusOK, h); err != nil {
		return t, err
	}
	t.First = micros(time.Since(start))

	c, err := http.ParseSetCookie(h.Get("Set-Cookie"))
	if err != nil {
		return t, fmt.Errorf("first request: %v", err)
	}
	pair := c.Name + "=" + c.Value

	start = time.Now()
	s = sessions.Load(ctx, pair)
	n, ok, err := cookiesession.Get[int](s, "count")
	if err != nil {
		return t, err
	}
	if err := sessions.Commit(s, http.StatusOK, http.Header{}); err != nil {
		return t, err
	}
	t.Second = micros(time.Since(start))
	if n != 1 || !ok {
		return t, fmt.Errorf("second request: count %d, %v; want 1 from the first request's cookie", n, ok)
	}
	return t, nil
}
