package main

// TestRuntimeInterfaceEmulator runs the function as Lambda does: its
// bootstrap (built with -tags lambda.norpc for the provided.al2023
// runtime) under the AWS Lambda Runtime Interface Emulator, the program
// AWS's base images use for local testing, invoked over HTTP with the
// fixtures of testdata: login, read through API Gateway and through a
// function URL, a key rotation (the emulator restarted with the new key
// primary and the old one decrypt-only), logout. The emulator installs
// with (.ci/run does):
//
//	go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
//
// Without it on PATH the test skips, unless CRUMB_REQUIRE_RIE=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// emulator is one running aws-lambda-rie with the bootstrap.
type emulator struct {
	url  string
	logs *syncBuffer
	cmd  *exec.Cmd
}

// startEmulator starts aws-lambda-rie serving bootstrap with the key list
// keys, on free loopback ports, and stops it at the end of the test.
func startEmulator(t *testing.T, rie, bootstrap, keys string) *emulator {
	t.Helper()
	ports := []string{freeAddr(t), freeAddr(t)}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", ports[0], "--runtime-api-address", ports[1], bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CRUMB_KEYS=") }),
		"CRUMB_KEYS="+keys, "LOG_LEVEL=info")
	e := &emulator{url: "http://" + ports[0] + "/2015-03-31/functions/function/invocations", logs: new(syncBuffer), cmd: cmd}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("aws-lambda-rie's output:\n%s", e.logs)
		}
	})
	return e
}

func (e *emulator) stop() {
	e.cmd.Process.Kill()
	e.cmd.Wait()
}

// invoke sends one event (a fixture, with cookies set to the given list)
// and returns the function's response. The emulator takes a moment to
// listen: a refused connection is tried again, for up to ten seconds.
func (e *emulator) invoke(t *testing.T, name string, cookies ...string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var event map[string]any
	if err := json.Unmarshal(fixtureBytes(t, name), &event); err != nil {
		t.Fatal(err)
	}
	if cookies != nil {
		event["cookies"] = cookies
	} else {
		delete(event, "cookies")
	}
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post(e.url, "application/json", bytes.NewReader(payload))
		if errors.Is(err, syscall.ECONNREFUSED) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // waiting for the emulator to listen, not for time
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: the emulator answered %s %s (%v)", name, resp.Status, b, err)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: response %s: %v", name, b, err)
		}
		return out
	}
}

// reports returns the durations the emulator reported: the init, and
// each invocation's, in milliseconds.
func (e *emulator) reports() (initMs float64, invokeMs []float64) {
	out := e.logs.String()
	if m := regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`).FindStringSubmatch(out); m != nil {
		initMs, _ = strconv.ParseFloat(m[1], 64)
	}
	for _, m := range regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`).FindAllStringSubmatch(out, -1) {
		d, _ := strconv.ParseFloat(m[1], 64)
		invokeMs = append(invokeMs, d)
	}
	return initMs, invokeMs
}

func TestRuntimeInterfaceEmulator(t *testing.T) {
	rie, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		msg := "aws-lambda-rie is not on PATH: go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"
		if os.Getenv("CRUMB_REQUIRE_RIE") == "1" {
			t.Fatal("CRUMB_REQUIRE_RIE=1 but " + msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := os.Stat(bootstrap)
	if err != nil {
		t.Fatal(err)
	}

	oldKey, newKey := rieKey(t), rieKey(t)
	native := func(primary *crypto.Key) *cookiesession.Manager {
		ring, err := rotation.NewKeyring(primary)
		if err != nil {
			t.Fatal(err)
		}
		m, err := cookiesession.New(cookiesession.Config{Keys: ring})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	pair := func(c *http.Cookie) string { return c.Name + "=" + c.Value }

	e := startEmulator(t, rie, bootstrap, "primary "+oldKey.SecretText())
	wantStatus(t, e.invoke(t, "me.json"), http.StatusUnauthorized)
	login := e.invoke(t, "login.json")
	wantUser(t, login, "ann")
	c := sessionCookie(t, login)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
		t.Errorf("login cookie %q lacks crumb's defaults", redact(login.Cookies[0]))
	}
	wantCacheSafe(t, login)
	wantUser(t, e.invoke(t, "me.json", "theme=dark", pair(c)), "ann")
	wantUser(t, e.invoke(t, "function_url_me.json", pair(c)), "ann")
	// The function's cookie opens natively, with the same key.
	if s := native(oldKey).Load(context.Background(), pair(c)); s.Err() != nil || s.Len() == 0 {
		t.Errorf("the function's cookie, opened natively: %d keys, %v", s.Len(), s.Err())
	}
	// A tampered cookie is a fresh session: not logged in, no error.
	last := c.Value[len(c.Value)-1]
	flipped := map[bool]byte{true: 'A', false: 'B'}[last != 'A']
	wantStatus(t, e.invoke(t, "me.json", c.Name+"="+c.Value[:len(c.Value)-1]+string(flipped)), http.StatusUnauthorized)

	// Rotation: the function starts again with the new key primary and the
	// old one decrypt-only. The session goes on, re-sealed under the new
	// key: the cookie it sets opens with the new key alone.
	e.stop()
	e = startEmulator(t, rie, bootstrap, "primary "+newKey.SecretText()+"; decrypt-only "+oldKey.SecretText())
	me := e.invoke(t, "me.json", pair(c))
	wantUser(t, me, "ann")
	resealed := sessionCookie(t, me)
	if s := native(newKey).Load(context.Background(), pair(resealed)); s.Err() != nil || s.Len() == 0 {
		t.Errorf("the re-sealed cookie, opened with the new key alone: %d keys, %v", s.Len(), s.Err())
	}
	for range 10 {
		wantUser(t, e.invoke(t, "me.json", pair(resealed)), "ann")
		wantUser(t, e.invoke(t, "function_url_me.json", pair(resealed)), "ann")
	}

	logout := e.invoke(t, "logout.json", pair(resealed))
	wantStatus(t, logout, http.StatusOK)
	if del := sessionCookie(t, logout); del.MaxAge >= 0 || del.Value != "" {
		t.Errorf("logout cookie %q is not a deletion", redact(logout.Cookies[0]))
	}
	wantCacheSafe(t, logout)
	wantStatus(t, e.invoke(t, "me.json"), http.StatusUnauthorized)
	// The example has no Revoker: logout deletes the browser's cookie, and
	// a copy kept elsewhere still opens until its deadline (see
	// cookiesession.Revoker: a Revoker, such as redisrevoke's, ends it).
	wantUser(t, e.invoke(t, "me.json", pair(resealed)), "ann")

	const sent = 1 + 20 + 1 + 1 + 1 // to the second emulator
	// The emulator logs an invocation's report after its answer: wait for
	// the last one (a bounded while).
	var initMs float64
	var invokes []float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if initMs, invokes = e.reports(); len(invokes) >= sent || time.Now().After(deadline) {
			break
		}
	}
	if len(invokes) != sent {
		t.Fatalf("the emulator reported %d invocations, want the %d sent", len(invokes), sent)
	}
	later := slices.Clone(invokes[1:])
	slices.Sort(later)
	t.Logf("bootstrap %d bytes (%.2f MiB); under aws-lambda-rie after the restart: init %.1f ms, first invocation %.2f ms, later invocations median %.2f ms (%d)",
		info.Size(), float64(info.Size())/(1<<20), initMs, invokes[0], later[len(later)/2], len(invokes))
}

func rieKey(t *testing.T) *crypto.Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// freeAddr returns a loopback address with a free port below the kernel's
// range of ephemeral ports, so that no connection the test opens meanwhile
// can take it before the emulator listens there.
func freeAddr(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 100 {
		addr := "127.0.0.1:" + strconv.Itoa(10000+rand.IntN(low-10000))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}
