package redisrevoke

// The helpers of this package's tests: a real redis-server on a free
// loopback port, started once by TestMain and stopped at the end, and
// Managers over it.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/redis/go-redis/v9"
)

// redisAddr is the test server's address, "" if there is none.
var redisAddr string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CRUMB_REQUIRE_REDIS") == "1" {
			fmt.Fprintln(os.Stderr, "redisrevoke: CRUMB_REQUIRE_REDIS=1 but no redis-server (apt-get install redis-server)")
			return 1
		}
		return m.Run() // the tests skip one by one
	}
	addr, stop, err := startRedis(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisrevoke:", err)
		return 1
	}
	defer stop()
	redisAddr = addr
	return m.Run()
}

// startRedis starts redis-server on a free loopback port, without
// persistence, and returns once it says it accepts connections.
func startRedis(bin string) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() {
				for sc.Scan() {
				}
			}()
			return fmt.Sprintf("127.0.0.1:%d", port), stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("redis-server on port %d did not start", port)
}

// client returns a client of the test server, with a fresh key prefix
// for the test; it skips the test without a server.
func client(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	if redisAddr == "" {
		t.Skip("no redis-server: install it (Debian: apt-get install redis-server), then run go test ./redisrevoke")
	}
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c, "test:" + strings.ReplaceAll(t.Name(), "/", ":") + ":"
}

// newRevoker returns a Revoker over the test server.
func newRevoker(t *testing.T, mod func(*Config)) *Revoker {
	t.Helper()
	c, prefix := client(t)
	cfg := Config{Client: c, Prefix: prefix, MaxLifetime: 8 * time.Hour, ClockSkew: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newManager returns a Manager whose Revoker is r, with keys.
func newManager(t *testing.T, keys rotation.Source, r cookiesession.Revoker) *cookiesession.Manager {
	t.Helper()
	m, err := cookiesession.New(cookiesession.Config{Keys: keys, Revoker: r, AbsoluteLifetime: 8 * time.Hour, ClockSkew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newKeys(t *testing.T) *rotation.Keyring {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

var ctx = context.Background()
