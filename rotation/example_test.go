package rotation_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
)

// The staged procedure: add the new key, promote it once every instance
// holds it, let old values be re-sealed as they are read, and remove the
// old key once no value it sealed can still be valid. The clock is a plain
// time.Time moved forward by hand; a service would use time.Now().
func Example() {
	policy := rotation.Policy{
		Propagation: 48 * time.Hour,      // one full deploy, with margin
		MaxLifetime: 30 * 24 * time.Hour, // the session layer's absolute lifetime
		ClockSkew:   5 * time.Minute,
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cookie := format.AdditionalData("crumb", "__Host-session")

	oldKey, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring, err := rotation.NewKeyring(oldKey)
	if err != nil {
		log.Fatal(err)
	}
	value, err := ring.Seal(nil, []byte("user=alice"), cookie)
	if err != nil {
		log.Fatal(err)
	}

	// 1. Stage the new key, decrypt-only, and deploy it everywhere.
	newKey, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	if ring, err = ring.Add(newKey, now); err != nil {
		log.Fatal(err)
	}
	promoteAt, err := ring.PromoteAt(newKey.ID(), policy)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("promote after:", promoteAt.Sub(now))

	// 2. Promote it once the propagation window has passed.
	now = promoteAt
	if ring, err = ring.Promote(newKey.ID(), now); err != nil {
		log.Fatal(err)
	}
	fmt.Println("new key is primary:", ring.Primary().Equal(newKey))

	// 3. Values sealed under the old key still open, and ask to be
	// sealed again under the new primary.
	plaintext, opened, err := ring.Open(nil, value, cookie)
	fmt.Println("old value opens:", err == nil, string(plaintext))
	fmt.Println("re-seal:", opened.Reseal)

	// 4. Remove the old key once it is safe.
	retireAt, err := ring.RetireAt(oldKey.ID(), policy)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retire after promotion:", retireAt.Sub(now))
	for _, when := range []time.Time{now.Add(7 * 24 * time.Hour), retireAt.Add(-time.Second), retireAt} {
		safe, err := safeToRetire(ring, oldKey.ID(), when, policy)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("safe to retire %v after promotion: %v\n", when.Sub(now), safe)
	}
	if ring, err = ring.Remove(oldKey.ID()); err != nil {
		log.Fatal(err)
	}
	_, _, err = ring.Open(nil, value, cookie)
	fmt.Println("old value after removal is invalid:", errors.Is(err, crypto.ErrInvalid))

	// Output:
	// promote after: 48h5m0s
	// new key is primary: true
	// old value opens: true user=alice
	// re-seal: true
	// retire after promotion: 768h5m0s
	// safe to retire 168h0m0s after promotion: false
	// safe to retire 768h4m59s after promotion: false
	// safe to retire 768h5m0s after promotion: true
	// old value after removal is invalid: true
}

// A Schedule rotates keys by itself: every instance that shares the master
// key derives the same key for each period.
func ExampleSchedule() {
	master, err := crypto.GenerateKey() // in production, crypto.ParseKey of a stored secret
	if err != nil {
		log.Fatal(err)
	}
	s, err := rotation.NewSchedule(master, rotation.ScheduleConfig{
		Period:    time.Hour,
		Previous:  2, // values stay openable for at least two hours
		ClockSkew: 30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	cookie := format.AdditionalData("crumb", "__Host-session")
	now := time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)

	value, err := s.At(now).Seal(nil, []byte("user=alice"), cookie)
	if err != nil {
		log.Fatal(err)
	}

	// An hour later the key has rotated; the value still opens, under a
	// previous period's key.
	later := s.At(now.Add(time.Hour))
	_, opened, err := later.Open(nil, value, cookie)
	fmt.Println("opens an hour later:", err == nil)
	fmt.Println("re-seal:", opened.Reseal)

	// Past Previous periods, its key is gone.
	_, _, err = s.At(now.Add(3*time.Hour)).Open(nil, value, cookie)
	fmt.Println("opens three hours later:", err == nil)

	// Output:
	// opens an hour later: true
	// re-seal: true
	// opens three hours later: false
}

// Key lists are text: one entry per line (or per ';'-separated entry).
// Errors name the line and never repeat the input.
func ExampleParseKeys() {
	current, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	previous, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	// Usually read from a file (NewFileSource) or a variable (FromEnv).
	text := "# keys for the session cookie\n" +
		"primary " + current.SecretText() + " added=2026-02-01T00:00:00Z\n" +
		"decrypt-only " + previous.SecretText() + " demoted=2026-02-03T00:00:00Z\n"

	ring, err := rotation.ParseKeys("keys.txt", text)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("keys:", len(ring.Entries()))
	fmt.Println("primary is current:", ring.Primary().Equal(current))

	// A mistyped key is reported by line, without the key.
	mistyped := []byte(previous.SecretText())
	if i := len(mistyped) - 10; mistyped[i] == 'A' {
		mistyped[i] = 'B'
	} else {
		mistyped[i] = 'A'
	}
	_, err = rotation.ParseKeys("keys.txt", "primary "+current.SecretText()+"\ndecrypt-only "+string(mistyped))
	var pe *rotation.ParseError
	if errors.As(err, &pe) {
		fmt.Println("bad line:", pe.Line)
		fmt.Println(err)
	}

	// Output:
	// keys: 2
	// primary is current: true
	// bad line: 2
	// rotation: keys.txt line 2: crumb: invalid key: key ID does not match the key (mistyped or truncated?)
}

// Update applies one rotation step to the ring a Holder shares with the
// request goroutines; they pick up the new ring on their next Load.
func ExampleHolder_Update() {
	oldKey, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	newKey, err := crypto.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	ring, err := rotation.NewKeyring(oldKey)
	if err != nil {
		log.Fatal(err)
	}
	h := rotation.NewHolder(ring)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	err = h.Update(func(r *rotation.Keyring) (*rotation.Keyring, error) {
		return r.Add(newKey, now)
	})
	fmt.Println("add:", err, len(h.At(at(0)).Entries()), "keys")

	err = h.Update(func(r *rotation.Keyring) (*rotation.Keyring, error) {
		return r.Promote(newKey.ID(), now.Add(48*time.Hour))
	})
	fmt.Println("promote:", err, "new key is primary:", h.At(at(0)).Primary().Equal(newKey))

	// A step that fails leaves the ring as it was.
	err = h.Update(func(r *rotation.Keyring) (*rotation.Keyring, error) {
		return r.Remove(newKey.ID()) // the primary cannot be removed
	})
	fmt.Println("remove primary refused:", errors.Is(err, rotation.ErrKeyring), len(h.At(at(0)).Entries()), "keys")

	// Output:
	// add: <nil> 2 keys
	// promote: <nil> new key is primary: true
	// remove primary refused: true 2 keys
}
