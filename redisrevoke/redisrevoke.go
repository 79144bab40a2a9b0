// Package redisrevoke is a cookiesession.Revoker over Redis: a logout, a
// "log out everywhere" or a password change holds on every instance that
// shares the Redis server, not only on the one that served it. It is a
// module of its own, so that crumb's core module does not depend on a
// Redis client.
//
//	revoker, err := redisrevoke.New(redisrevoke.Config{
//		Client:      redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true}),
//		MaxLifetime: 8 * time.Hour, // Config.AbsoluteLifetime, or the longest a session lives
//	})
//	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Revoker: revoker, AbsoluteLifetime: 8 * time.Hour})
//
// Each revoked session ID is a Redis key that expires when Revoke's until
// says (the bound cookiesession computes: no copy of the session can be
// accepted after it), and each per-subject cut-off a key that expires once
// every session it could reject has ended: nothing needs pruning. Check
// reads both in one round trip (MGET). Keys are prefixed, so that several
// applications can share a server.
//
// When Redis is slow or down, each call gives up after Config.Timeout,
// provided the client honours its context's deadline (go-redis does with
// ContextTimeoutEnabled; otherwise its own ReadTimeout and DialTimeout,
// seconds by default, bound the call).
// Check then fails closed by default: the session is not used for that
// request and its cookie is kept (crumb never deletes a cookie it could
// not check), so users are not logged out by an outage, only served
// without their session until Redis is back. Config.FailOpen accepts the
// session instead, at the cost of honouring no revocation meanwhile.
// Revoke returns the error: Session.Flush still ends the session in the
// browser, and the application should tell the user.
//
// A restart need not be an outage: each call tries again, within
// Timeout, while Redis cannot be reached (a refused, reset or closed
// connection) or is loading its data, pausing 10ms, doubling to 100ms, and
// once after an attempt timed out; any other error ends it. So a restart
// shorter than Timeout only slows the requests that meet it, and Check
// makes one round trip whenever Redis answers. For that, give the client
// attempts that give way well within Timeout (DialTimeout, ReadTimeout,
// WriteTimeout), turn its own retries off (MaxRetries -1, DialerRetries
// 1: they would hold each attempt for up to a second), and a PoolSize
// that covers the requests in flight (with fewer connections, a restart
// left a few requests waiting for one past the timeout). The example
// shows such a client; the fleet test runs it. During an outage longer
// than Timeout, every request with a session waits Timeout, then fails
// closed (or open).
//
// Redis must keep what it is told across a restart, or a restart undoes
// logouts: run it with an append-only file (appendonly yes). The fleet
// test in ./fleet runs three instances over one Redis through rotations,
// crashes and a Redis restart; docs/OPERATIONS.md has the fleet guide.
package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/redis/go-redis/v9"
)

// Config configures a Revoker.
type Config struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix starts every key the Revoker writes. Default "crumb:".
	Prefix string
	// MaxLifetime is the longest a session lives after it is issued:
	// cookiesession's Config.AbsoluteLifetime, or, without one, a bound
	// on how long an active user keeps one session. A per-subject
	// cut-off is kept that long (plus twice ClockSkew). Required.
	MaxLifetime time.Duration
	// ClockSkew is cookiesession's Config.ClockSkew.
	ClockSkew time.Duration
	// Timeout bounds each call to Redis, through its context (create the
	// client with ContextTimeoutEnabled). Default 100ms.
	Timeout time.Duration
	// FailOpen accepts a session that could not be checked; the default
	// refuses it for the request, keeping its cookie.
	FailOpen bool
}

// A Revoker is a cookiesession.Revoker over Redis. It is safe for
// concurrent use.
type Revoker struct {
	cfg Config
}

// New returns a Revoker for cfg. It does no I/O.
func New(cfg Config) (*Revoker, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("redisrevoke: Config.Client is required")
	case cfg.MaxLifetime <= 0:
		return nil, errors.New("redisrevoke: Config.MaxLifetime is required")
	case cfg.ClockSkew < 0 || cfg.Timeout < 0:
		return nil, errors.New("redisrevoke: Config.ClockSkew and Timeout must not be negative")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "crumb:"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	return &Revoker{cfg: cfg}, nil
}

func (r *Revoker) idKey(id string) string           { return r.cfg.Prefix + "id:" + id }
func (r *Revoker) subjectKey(subject string) string { return r.cfg.Prefix + "subject:" + subject }

// Check rejects a session whose ID was revoked, or whose subject has a
// cut-off after the session's issue time, in one round trip when Redis
// answers (the package documentation says what it does when Redis does
// not).
func (r *Revoker) Check(ctx context.Context, info cookiesession.Info) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	keys := []string{r.idKey(info.ID)}
	if info.Subject != "" {
		keys = append(keys, r.subjectKey(info.Subject))
	}
	var vals []any
	err := retry(ctx, func(ctx context.Context) (err error) {
		vals, err = r.cfg.Client.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		if r.cfg.FailOpen {
			return nil
		}
		return fmt.Errorf("redisrevoke: could not check the session: %w", err)
	}
	if vals[0] != nil {
		return fmt.Errorf("%w: the session was ended", cookiesession.ErrRevoked)
	}
	if len(vals) > 1 && vals[1] != nil {
		s, _ := vals[1].(string)
		cut, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("redisrevoke: the cut-off of the session's subject is not a time")
		}
		if info.IssuedAt.UnixNano() < cut {
			return fmt.Errorf("%w: all of the subject's sessions issued before %s were ended", cookiesession.ErrRevoked, time.Unix(0, cut).UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Revoke denies info.ID until until: a key that Redis deletes then.
func (r *Revoker) Revoke(ctx context.Context, info cookiesession.Info, until time.Time) error {
	// A logout goes through even if the client goes away meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	if !until.After(time.Now()) {
		return nil // nothing left to deny
	}
	return retry(ctx, func(ctx context.Context) error {
		return r.cfg.Client.SetArgs(ctx, r.idKey(info.ID), "1", redis.SetArgs{ExpireAt: until}).Err()
	})
}

// keepLater sets KEYS[1] to ARGV[1] unless it holds a later time, and
// makes it expire at ARGV[2] (Unix milliseconds) unless it already lasts
// longer: a cut-off only ever moves later, and lives as long as the latest
// one needs.
//
// The times are compared as decimal strings (shorter is smaller, then
// bytewise), not as Lua numbers, which are doubles and would round
// nanoseconds.
var keepLater = redis.NewScript(`
local old = redis.call('GET', KEYS[1]) or ''
local new = ARGV[1]
if #old < #new or (#old == #new and old < new) then
  redis.call('SET', KEYS[1], new, 'KEEPTTL')
end
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[2]) - tonumber(ARGV[3])
if ttl < 0 or ttl < want then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
`)

// RevokeSubject ends every session of subject issued before t, on every
// instance ("log out everywhere", a password change). To keep the device
// that asks logged in, cut off first, with t the Manager's clock now,
// then Flush the session and store its contents again: the new session
// is issued when saved, after t (see the example). In that order a crash
// between the steps logs the user out everywhere, never only here. The cut-off is kept
// until no session issued before t can still be valid: t + MaxLifetime +
// twice ClockSkew. A later cut-off for the same subject wins; an earlier
// one changes nothing.
func (r *Revoker) RevokeSubject(ctx context.Context, subject string, t time.Time) error {
	if subject == "" {
		return errors.New("redisrevoke: no subject")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	until := t.Add(r.cfg.MaxLifetime + 2*r.cfg.ClockSkew)
	now := time.Now()
	if !until.After(now) {
		return nil
	}
	return retry(ctx, func(ctx context.Context) error {
		return keepLater.Run(ctx, r.cfg.Client, []string{r.subjectKey(subject)},
			t.UnixNano(), until.UnixMilli(), now.UnixMilli()).Err()
	})
}

// retry runs call until it succeeds, fails in a way another attempt
// cannot mend, or ctx ends. Another attempt can mend Redis unreachable
// (a refused, reset or closed connection: a restart) or still loading its
// data, after a pause of 10ms, doubling to 100ms; and a timed-out attempt
// once (a connection that stopped answering), not more, so that a slow
// Redis is not sent a storm of retries. Every call it makes is idempotent.
// If ctx ends first, the error wraps both ctx's and the last attempt's.
func retry(ctx context.Context, call func(context.Context) error) error {
	pause := 10 * time.Millisecond
	timeouts := 0
	for {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		switch {
		case redis.IsLoadingError(err), cannotReach(err):
		case isTimeout(err) && timeouts == 0:
			timeouts++
		default:
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		case <-t.C:
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// cannotReach reports an error of the connection to Redis, not of Redis:
// refused, reset, closed, or cut short.
func cannotReach(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ENOENT) || // a unix socket not there (yet)
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &op) && op.Op == "dial" && !op.Timeout()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
