package rotation_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crumbhq/crumb/rotation"
)

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}

func TestHolderLoadStore(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 2)
	r1, err := rotation.NewKeyring(k[0])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r2, err := rotation.NewKeyring(k[1], k[0])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r1)
	var s rotation.Source = h
	if h.At(at(0)) != r1 || s.At(at(0)) != r1 {
		t.Fatal("NewHolder(r).Load() is not r")
	}
	v := sealRing(t, h.At(at(0)), "before")
	h.Store(r2)
	if h.At(at(0)) != r2 || s.At(at(0)) != r2 {
		t.Fatal("Load after Store(r2) is not r2")
	}
	mustOpen(t, h.At(at(0)), v, "before", k[0], true)

	var zero rotation.Holder
	if zero.At(at(0)) != nil {
		t.Fatal("the zero Holder holds a ring")
	}
}

func TestHolderMisusePanics(t *testing.T) {
	t.Parallel()
	r, err := rotation.NewKeyring(newKey(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mustPanic(t, "NewHolder(nil)", func() { rotation.NewHolder(nil) })
	h := rotation.NewHolder(r)
	mustPanic(t, "Store(nil)", func() { h.Store(nil) })
	mustPanic(t, "Update returning nil, nil", func() {
		_ = h.Update(func(*rotation.Keyring) (*rotation.Keyring, error) { return nil, nil })
	})
	if h.At(at(0)) != r {
		t.Fatal("a panicking call changed the ring")
	}
}

func TestHolderUpdate(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	r, err := rotation.NewKeyring(k1)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r)
	var seen *rotation.Keyring
	err = h.Update(func(cur *rotation.Keyring) (*rotation.Keyring, error) {
		seen = cur
		return cur.Add(k2, at(0))
	})
	if err != nil {
		t.Fatalf("Update(Add): %v", err)
	}
	if seen != r {
		t.Fatal("Update did not pass the current ring to f")
	}
	if _, ok := lookupEntry(h.At(at(0)), k2.ID()); !ok || h.At(at(0)).Primary() != k1 {
		t.Fatal("Update(Add) did not install the new ring")
	}
	if err := h.Update(func(cur *rotation.Keyring) (*rotation.Keyring, error) { return cur.Promote(k2.ID(), at(time.Hour)) }); err != nil {
		t.Fatalf("Update(Promote): %v", err)
	}
	if h.At(at(0)).Primary() != k2 {
		t.Fatalf("after Update(Promote) primary is %v, want %v", h.At(at(0)).Primary(), k2)
	}
}

func TestHolderUpdateErrorLeavesRing(t *testing.T) {
	t.Parallel()
	r, err := rotation.NewKeyring(newKey(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r)
	errSentinel := errors.New("operator changed their mind")
	calls := 0
	err = h.Update(func(cur *rotation.Keyring) (*rotation.Keyring, error) {
		calls++
		// A ring was built, but the error wins.
		next, _ := cur.Add(newKey(t), at(0))
		return next, errSentinel
	})
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Update = %v, want f's error", err)
	}
	if calls != 1 || h.At(at(0)) != r {
		t.Fatalf("after a failed Update: f ran %d times, ring changed %v; want 1, false", calls, h.At(at(0)) != r)
	}
	err = h.Update(func(cur *rotation.Keyring) (*rotation.Keyring, error) { return cur.Remove(cur.Primary().ID()) })
	if !errors.Is(err, rotation.ErrKeyring) || h.At(at(0)) != r {
		t.Fatalf("Update(Remove primary) = %v (ring changed %v), want ErrKeyring and the ring kept", err, h.At(at(0)) != r)
	}
}

// TestHolderUpdateRetries forces the compare-and-swap to fail once: the
// first call of f swaps the ring behind Update's back, so Update must call
// f again with the newer ring and install that call's result.
func TestHolderUpdateRetries(t *testing.T) {
	t.Parallel()
	k := newKeys(t, 3)
	r0, err := rotation.NewKeyring(k[0])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	other, err := rotation.NewKeyring(k[1])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r0)

	var inputs, results []*rotation.Keyring
	err = h.Update(func(cur *rotation.Keyring) (*rotation.Keyring, error) {
		inputs = append(inputs, cur)
		if len(inputs) == 1 {
			h.Store(other) // a concurrent swap
		}
		next, err := cur.Add(k[2], at(0))
		results = append(results, next)
		return next, err
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(inputs) != 2 {
		t.Fatalf("f ran %d times, want 2 (the swap must force a retry)", len(inputs))
	}
	if inputs[0] != r0 || inputs[1] != other {
		t.Fatal("f was not called with the original ring and then the swapped-in ring")
	}
	if h.At(at(0)) != results[1] {
		t.Fatal("the final ring is not the result of f's second call")
	}
	if h.At(at(0)).Primary() != k[1] {
		t.Fatalf("final primary is %v, want %v (the swapped-in ring's)", h.At(at(0)).Primary(), k[1])
	}
}

// TestHolderConcurrent swaps rings while readers seal and open; run it
// with -race. Readers must always see a whole ring with one primary, and
// every value they seal must open with the ring it was sealed under.
func TestHolderConcurrent(t *testing.T) {
	t.Parallel()
	const (
		readers = 8
		updates = 200
	)
	keys := newKeys(t, updates/3+2)
	r, err := rotation.NewKeyring(keys[0])
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r)

	var done atomic.Bool
	var wg, started sync.WaitGroup
	var iterations atomic.Int64
	started.Add(readers)
	for i := range readers {
		wg.Go(func() {
			msg := []byte(fmt.Sprintf("reader %d", i))
			// Every reader is running before the updates start.
			ready := sync.OnceFunc(started.Done)
			defer ready()
			for n := 0; n == 0 || !done.Load(); n++ {
				if n == 1 {
					ready()
				}
				// Let the updater run where goroutines are not preempted
				// (GOOS=js: one thread, no asynchronous preemption).
				runtime.Gosched()
				iterations.Add(1)
				ring := h.At(at(0))
				if ring == nil {
					t.Error("Load returned nil")
					return
				}
				es := ring.Entries()
				primaries := 0
				for _, e := range es {
					if e.State == rotation.Primary {
						primaries++
					}
				}
				if primaries != 1 || ring.Primary() == nil || es[0].Key != ring.Primary() {
					t.Errorf("reader saw a ring with %d primaries", primaries)
					return
				}
				v, err := ring.Seal(nil, msg, testContext)
				if err != nil {
					t.Errorf("Seal: %v", err)
					return
				}
				out, o, err := ring.Open(nil, v, testContext)
				if err != nil || string(out) != string(msg) || o.KeyID != ring.Primary().ID() || o.Reseal {
					t.Errorf("Open of a value sealed under the same ring = %q, %+v, %v", out, o, err)
					return
				}
			}
		})
	}

	var updateErr error
	wg.Go(func() {
		defer done.Store(true)
		started.Wait()
		next := 1
		for i := range updates {
			var f func(*rotation.Keyring) (*rotation.Keyring, error)
			switch i % 3 {
			case 0: // stage a new key
				k := keys[next]
				next++
				f = func(cur *rotation.Keyring) (*rotation.Keyring, error) {
					return cur.Add(k, at(time.Duration(i)*time.Minute))
				}
			case 1: // promote it
				id := keys[next-1].ID()
				f = func(cur *rotation.Keyring) (*rotation.Keyring, error) {
					return cur.Promote(id, at(time.Duration(i)*time.Minute))
				}
			case 2: // retire the old primary
				id := keys[next-2].ID()
				f = func(cur *rotation.Keyring) (*rotation.Keyring, error) { return cur.Remove(id) }
			}
			if err := h.Update(f); err != nil {
				updateErr = fmt.Errorf("update %d: %w", i, err)
				return
			}
		}
	})
	wg.Wait()

	if updateErr != nil {
		t.Fatal(updateErr)
	}
	checkRing(t, h.At(at(0)))
	// 200 updates: 67 adds, 67 promotes, 66 removes.
	if got, want := h.At(at(0)).Primary(), keys[(updates+2)/3]; got != want {
		t.Fatalf("final primary is %v, want %v", got, want)
	}
	t.Logf("%d reader iterations during %d updates", iterations.Load(), updates)
}

// A Holder is a Source for the session layer.
var _ rotation.Source = (*rotation.Holder)(nil)

// The keys a Holder hands out are the ones it was given.
func TestHolderKeyringIgnoresTime(t *testing.T) {
	t.Parallel()
	r, err := rotation.NewKeyring(newKey(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := rotation.NewHolder(r)
	for _, now := range []time.Time{{}, at(0), at(-time.Hour)} {
		if h.At(now) != r {
			t.Fatalf("Keyring(%v) is not the stored ring", now)
		}
	}
}
