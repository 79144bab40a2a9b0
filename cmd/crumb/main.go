// Command crumb manages the keys of crumb's cookie sessions: it makes
// keys, lists a key file without printing any secret, and runs the staged
// rotation procedure on a key file, writing it atomically.
//
//	go run github.com/crumbhq/crumb/cmd/crumb@latest keygen > keys
//
// Usage:
//
//	crumb keygen [-env | -master]
//	crumb keyring [policy flags] FILE
//	crumb rotate add FILE
//	crumb rotate promote [-id ID] [-force] [policy flags] FILE
//	crumb rotate retire [-id ID] [-force] [policy flags] FILE
//	crumb inspect [-keys FILE] [-name NAME] VALUE|COOKIE-HEADER
//	crumb seal [-keys FILE] [-name NAME] [-lifetime D] [-subject S] JSON
//
// keygen prints a key file holding one new primary key (the format of
// docs/KEYS.md, ending with "end"); with -env, the same list on one line
// for an environment variable such as CRUMB_KEYS; with -master, a bare
// key for rotation.NewSchedule (crypto.ParseKey reads it).
//
// keyring lists the keys of FILE: ID, state, when each was added and
// demoted, and when it may be promoted or retired under the policy.
//
// rotate changes FILE one step of the staged procedure (docs/KEYS.md):
// add a decrypt-only key; promote it to primary once every instance has
// had time to load it; retire a demoted key once no cookie it sealed can
// still be valid. A step that is not yet safe is refused unless -force.
// The file is replaced atomically: it is written beside the old one,
// flushed to disk and renamed over it, so a reader sees the old list or
// the new one, never half of either.
//
// inspect opens a session cookie (a value, or a whole Cookie header, from
// which it picks the cookies that look like crumb's, chunks included) with
// the keys of a key file (-keys) or of an environment variable (-keys-env,
// default CRUMB_KEYS), and prints as JSON its format version, chunk count,
// key ID and that key's state, the session's ID, subject, issue, save and
// deadline times, whether it has expired, its expiry rule, and its data,
// typed value and flash messages. An expired cookie still shows what it
// held. A cookie that does not open gets the class of the reason
// (malformed, unknown key, unauthentic, bad payload), never more.
//
// seal makes a session cookie for tests: the JSON object's members become
// the session's keys (integers as integers), and it prints the Cookie
// header value a browser would send back.
//
// The policy flags say how long a rotation step must wait:
// -propagation, how long a new key takes to reach every instance
// (default 10m); -lifetime, the longest a session cookie stays valid after
// it is sealed (default 336h, crumb's default Config.Lifetime; longer if
// handlers give sessions a longer IdleFor or ExpiresAt and there is no
// Config.AbsoluteLifetime below it); -skew, the
// largest clock difference between instances (default 0). -now sets the
// time (RFC 3339), for trying a schedule ahead of time.
//
// Exit status: 0 on success, 1 when the command fails or refuses an
// unsafe step, 2 for a usage error. No output ever contains a key's
// secret but keygen's, whose purpose it is; seal prints a cookie, which is
// a credential, and inspect a session's data.
package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, time.Now))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage:
  crumb keygen [-env | -master]
  crumb keyring [-propagation D] [-lifetime D] [-skew D] [-now T] FILE
  crumb rotate add [-now T] FILE
  crumb rotate promote [-id ID] [-force] [-propagation D] [-skew D] [-now T] FILE
  crumb rotate retire [-id ID] [-force] [-propagation D] [-lifetime D] [-skew D] [-now T] FILE
  crumb inspect [-keys FILE | -keys-env VAR] [-name NAME] [-now T] VALUE|COOKIE-HEADER
  crumb seal [-keys FILE | -keys-env VAR] [-name NAME] [-lifetime D] [-subject S] [-now T] JSON
`

// run runs the command in args and returns its exit status.
func run(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "keygen":
		err = keygen(args[1:], stdout)
	case "keyring":
		err = keyring(args[1:], stdout, now)
	case "rotate":
		err = rotate(args[1:], stdout, now)
	case "inspect":
		err = inspectCookie(args[1:], stdout, now)
	case "seal":
		err = sealCookie(args[1:], stdout, now)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usageError{fmt.Errorf("unknown command %q", args[0])}
	}
	switch err.(type) {
	case nil:
		return exitOK
	case usageError:
		fmt.Fprintf(stderr, "crumb: %s\n%s", redact(err.Error()), usage)
		return exitUsage
	}
	fmt.Fprintf(stderr, "crumb: %s\n", redact(err.Error()))
	return exitFail
}

// keyText matches the text form of a key, whose last part is its secret.
var keyText = regexp.MustCompile(`crumbkey1_([0-9A-Fa-f]{8})_[A-Za-z0-9_-]*`)

// redact removes the secrets of keys from a message: an error may quote
// an argument, and a key pasted where a file name, a command or a flag
// value belongs must not be echoed.
func redact(msg string) string {
	return keyText.ReplaceAllString(msg, "crumbkey1_${1}_<secret>")
}

// usageError is a mistake in the command line.
type usageError struct{ error }
