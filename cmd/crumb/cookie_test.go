package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// inspected runs inspect and decodes its report.
func inspected(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := crumb(t, append([]string{"inspect"}, args...)...).want(t, exitOK)
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("inspect printed %q: %v", r.stdout, err)
	}
	return out
}

// sealed runs seal and returns the Cookie header value it printed.
func sealed(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(crumb(t, append([]string{"seal"}, args...)...).want(t, exitOK).stdout)
}

func TestSealInspect(t *testing.T) {
	t.Parallel()
	keys := keyFile(t)
	data := `{"user_id": 123456, "username": "john_doe", "cart": [101, 202, 303], "prefs": {"theme": "dark"}, "ratio": 0.5}`
	cookie := sealed(t, "-keys", keys, "-subject", "u123456", at(0), data)
	if !strings.HasPrefix(cookie, "__Host-sessionid=") || strings.Contains(cookie, ";") {
		t.Fatalf("seal printed %q, want one __Host-sessionid pair", cookie)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(data), &want); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"a Cookie header": {"a=1; " + cookie + "; b=2"},
		"a bare value":    {strings.TrimPrefix(cookie, "__Host-sessionid=")},
	} {
		t.Run(name, func(t *testing.T) {
			got := inspected(t, append([]string{"-keys", keys, at(time.Hour)}, args...)...)
			if !reflect.DeepEqual(got["data"], want) {
				t.Errorf("data %v, want %v", got["data"], want)
			}
			checks := map[string]any{
				"cookie": "__Host-sessionid", "version": 1.0, "chunks": 1.0, "keyState": "primary",
				"subject": "u123456", "expired": false, "expiry": "default",
				"issuedAt": t0.Format(time.RFC3339), "expires": t0.Add(14 * 24 * time.Hour).Format(time.RFC3339),
			}
			for k, v := range checks {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}

	// Expired, it still shows what it held.
	got := inspected(t, "-keys", keys, at(15*24*time.Hour), cookie)
	if got["expired"] != true || !reflect.DeepEqual(got["data"], want) {
		t.Errorf("expired cookie: expired %v, data %v", got["expired"], got["data"])
	}

	// Through the environment.
	env := crumb(t, "keygen", "-env").want(t, exitOK).stdout
	envCookie := strings.TrimSpace(crumbEnv(t, []string{"MY_KEYS=" + env}, "seal", "-keys-env", "MY_KEYS", `{"a": 1}`).want(t, exitOK).stdout)
	r := crumbEnv(t, []string{"MY_KEYS=" + env}, "inspect", "-keys-env", "MY_KEYS", envCookie).want(t, exitOK)
	if !strings.Contains(r.stdout, `"a": 1`) {
		t.Errorf("inspect through the environment printed %q", r.stdout)
	}
}

func TestInspectRefuses(t *testing.T) {
	t.Parallel()
	keys := keyFile(t)
	cookie := sealed(t, "-keys", keys, `{"a": 1}`)
	value := strings.TrimPrefix(cookie, "__Host-sessionid=")
	i := len(value) / 2
	flip := "A"
	if value[i] == 'A' {
		flip = "B"
	}
	for _, tc := range []struct {
		name, keys, arg, want string
	}{
		{"tampered", keys, value[:i] + flip + value[i+1:], "unauthentic"},
		{"another key", keyFile(t), value, "unknown key"},
		{"truncated", keys, value[:len(value)-5], "malformed"},
		{"no crumb cookie", keys, "a=1; b=2", "no cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := crumb(t, "inspect", "-keys", tc.keys, tc.arg).want(t, exitFail)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want it to say %q", r.stderr, tc.want)
			}
			noSecrets(t, r.stdout+r.stderr, keys)
		})
	}
}

// TestInspectChunkedRotated: a session in several cookies opens from the
// whole header, and one sealed under a key since demoted says so.
func TestInspectChunkedRotated(t *testing.T) {
	t.Parallel()
	keys := keyFile(t)
	big := strings.Repeat("x", 5000)
	cookie := sealed(t, "-keys", keys, `{"big": "`+big+`"}`)
	if !strings.Contains(cookie, "__Host-sessionid.1=") {
		t.Fatalf("a 5000-byte session sealed into %d characters without a chunk", len(cookie))
	}
	crumb(t, "rotate", "add", keys).want(t, exitOK)
	crumb(t, "rotate", "promote", "-force", keys).want(t, exitOK)
	got := inspected(t, "-keys", keys, "x=1; "+cookie)
	data, _ := got["data"].(map[string]any)
	if got["chunks"] != 2.0 || got["keyState"] != "decrypt-only" || data["big"] != big {
		t.Errorf("chunks %v, keyState %v, big intact %v", got["chunks"], got["keyState"], data["big"] == big)
	}
}
