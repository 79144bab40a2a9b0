package bench

// The helpers every benchmark and test of this package shares: the
// reference session, keys, and a response writer that allocates nothing.

import (
	"context"
	"crypto/rand"
	"encoding/gob"
	"net/http"
	"reflect"
	"runtime"
	"testing"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
)

// Prefs and Ref are the reference session as a struct. The field tags
// give every codec the same key names as the map form.
type Prefs struct {
	Theme string `cbor:"theme" json:"theme"`
	Lang  string `cbor:"lang" json:"lang"`
}

type Ref struct {
	UserID   int    `cbor:"user_id" json:"user_id"`
	Username string `cbor:"username" json:"username"`
	CSRF     string `cbor:"csrf" json:"csrf"`
	Cart     []int  `cbor:"cart" json:"cart"`
	Prefs    Prefs  `cbor:"prefs" json:"prefs"`
	Flash    string `cbor:"flash" json:"flash"`
}

// ref is the reference session of the performance issue.
var ref = Ref{
	UserID:   123456,
	Username: "john_doe",
	CSRF:     "q9Vb0m3xYv1b3T2rS8u7k6J5h4G3f2E1d0C9b8A7z6Y",
	Cart:     []int{101, 202, 303},
	Prefs:    Prefs{Theme: "dark", Lang: "en-US"},
	Flash:    "Saved!",
}

// refMap returns the reference session as a map, built fresh because some
// codecs keep or change what they are given.
func refMap() map[string]any {
	return map[string]any{
		"user_id":  ref.UserID,
		"username": ref.Username,
		"csrf":     ref.CSRF,
		"cart":     []int{101, 202, 303},
		"prefs":    map[string]string{"theme": ref.Prefs.Theme, "lang": ref.Prefs.Lang},
		"flash":    ref.Flash,
	}
}

func init() {
	// gob (gorilla's default serializer, and scs's) needs the concrete
	// types that the map form of the session holds.
	gob.Register([]int(nil))
	gob.Register(map[string]string(nil))
}

// secret returns n random bytes.
func secret(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// newManager returns a crumb Manager with a fresh key, and that key's ring.
func newManager(tb testing.TB) (*cookiesession.Manager, *rotation.Keyring) {
	tb.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := cookiesession.New(cookiesession.Config{Keys: ring})
	if err != nil {
		tb.Fatal(err)
	}
	return m, ring
}

// checkRef fails unless got is the reference session.
func checkRef(tb testing.TB, got Ref) {
	tb.Helper()
	if !reflect.DeepEqual(got, ref) {
		tb.Fatalf("decoded %+v, want %+v", got, ref)
	}
}

// writer is an http.ResponseWriter that keeps nothing and, once its header
// map exists, allocates nothing: reset clears it between requests.
type writer struct {
	h      http.Header
	status int
}

func newWriter() *writer { return &writer{h: http.Header{}} }

func (w *writer) Header() http.Header { return w.h }
func (w *writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *writer) reset() {
	clear(w.h)
	w.status = 0
}

// background is the context of requests built by the benchmarks.
var background = context.Background()

// runtimeProcs is GOMAXPROCS.
func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
