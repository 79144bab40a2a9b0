package bench

// Round trips: the reference session encoded into a cookie value and
// decoded back, by the floor, by crumb and by each peer.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"
	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"
	"golang.org/x/crypto/chacha20poly1305"
)

// A codec turns the reference session into what a client sends back (a
// Cookie header line for crumb, whose API reads those; a cookie value for
// the peers, whose APIs read values), and decodes that back.
type codec struct {
	name string
	enc  func() (string, error)
	dec  func(string) (Ref, error)
	// valueLen is the length of the cookie value in what enc returns.
	valueLen func(string) int
}

func plainLen(s string) int { return len(s) }

// codecs returns every round trip, crumb's first.
func codecs(tb testing.TB) []codec {
	tb.Helper()
	m, _ := newManager(tb)
	name := m.Name()
	cookieLen := func(s string) int { return len(s) - len(name) - 1 }
	// commit seals s and returns the Cookie header line a browser would
	// send back.
	commit := func(s *cookiesession.Session) (string, error) {
		h := http.Header{}
		if err := m.Commit(s, http.StatusOK, h); err != nil {
			return "", err
		}
		line := h.Get("Set-Cookie")
		v, _, _ := strings.Cut(line, ";")
		return v, nil
	}

	hashKey, blockKey := secret(tb, 32), secret(tb, 32)
	scGob := securecookie.New(hashKey, blockKey)
	scJSON := securecookie.New(hashKey, blockKey).SetSerializer(securecookie.JSONEncoder{})

	jwtKey := secret(tb, 32)
	keyFunc := func(*jwt.Token) (any, error) { return jwtKey, nil }
	hs256 := jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()})

	pasetoKey := paseto.NewV4SymmetricKey()
	pasetoParser := paseto.NewParser()

	return []codec{
		{
			name: "crumb/typed",
			enc: func() (string, error) {
				s := m.Load(background)
				if err := cookiesession.SetData(s, ref); err != nil {
					return "", err
				}
				return commit(s)
			},
			dec: func(c string) (Ref, error) {
				s := m.Load(background, c)
				r, err := cookiesession.Data[Ref](s)
				if err == nil {
					err = s.Err() // a rejected cookie reads as a fresh session
				}
				return r, err
			},
			valueLen: cookieLen,
		},
		{
			name: "crumb/map",
			enc: func() (string, error) {
				s := m.Load(background)
				for k, v := range refMap() {
					if err := s.Set(k, v); err != nil {
						return "", err
					}
				}
				return commit(s)
			},
			dec: func(c string) (Ref, error) {
				s := m.Load(background, c)
				var r Ref
				var errs [6]error
				r.UserID, _, errs[0] = cookiesession.Get[int](s, "user_id")
				r.Username, _, errs[1] = cookiesession.Get[string](s, "username")
				r.CSRF, _, errs[2] = cookiesession.Get[string](s, "csrf")
				r.Cart, _, errs[3] = cookiesession.Get[[]int](s, "cart")
				r.Prefs, _, errs[4] = cookiesession.Get[Prefs](s, "prefs")
				r.Flash, _, errs[5] = cookiesession.Get[string](s, "flash")
				return r, firstErr(append(errs[:], s.Err()))
			},
			valueLen: cookieLen,
		},
		{
			name: "securecookie-json/typed",
			enc:  func() (string, error) { return scJSON.Encode("session", ref) },
			dec: func(v string) (r Ref, err error) {
				err = scJSON.Decode("session", v, &r)
				return r, err
			},
			valueLen: plainLen,
		},
		{
			name: "securecookie-json/map",
			enc:  func() (string, error) { return scJSON.Encode("session", refMap()) },
			dec: func(v string) (Ref, error) {
				var m map[string]any
				if err := scJSON.Decode("session", v, &m); err != nil {
					return Ref{}, err
				}
				return fromJSONMap(m)
			},
			valueLen: plainLen,
		},
		{
			name: "securecookie-gob/typed",
			enc:  func() (string, error) { return scGob.Encode("session", ref) },
			dec: func(v string) (r Ref, err error) {
				err = scGob.Decode("session", v, &r)
				return r, err
			},
			valueLen: plainLen,
		},
		{
			name: "securecookie-gob/map",
			enc:  func() (string, error) { return scGob.Encode("session", refMap()) },
			dec: func(v string) (Ref, error) {
				var m map[string]any
				if err := scGob.Decode("session", v, &m); err != nil {
					return Ref{}, err
				}
				p, _ := m["prefs"].(map[string]string)
				r := Ref{Prefs: Prefs{Theme: p["theme"], Lang: p["lang"]}}
				r.UserID, _ = m["user_id"].(int)
				r.Username, _ = m["username"].(string)
				r.CSRF, _ = m["csrf"].(string)
				r.Cart, _ = m["cart"].([]int)
				r.Flash, _ = m["flash"].(string)
				return r, nil
			},
			valueLen: plainLen,
		},
		{
			name: "jwt-hs256/typed",
			enc: func() (string, error) {
				c := jwtClaims{Ref: ref, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(14 * 24 * time.Hour))}}
				return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(jwtKey)
			},
			dec: func(v string) (Ref, error) {
				var c jwtClaims
				_, err := jwt.ParseWithClaims(v, &c, keyFunc, hs256)
				return c.Ref, err
			},
			valueLen: plainLen,
		},
		{
			name: "jwt-hs256/map",
			enc: func() (string, error) {
				c := jwt.MapClaims(refMap())
				c["exp"] = jwt.NewNumericDate(time.Now().Add(14 * 24 * time.Hour))
				return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(jwtKey)
			},
			dec: func(v string) (Ref, error) {
				c := jwt.MapClaims{}
				if _, err := jwt.ParseWithClaims(v, &c, keyFunc, hs256); err != nil {
					return Ref{}, err
				}
				return fromJSONMap(c)
			},
			valueLen: plainLen,
		},
		{
			name: "paseto-v4-local/map",
			enc: func() (string, error) {
				t := paseto.NewToken()
				t.SetExpiration(time.Now().Add(14 * 24 * time.Hour))
				for k, v := range refMap() {
					if err := t.Set(k, v); err != nil {
						return "", err
					}
				}
				return t.V4Encrypt(pasetoKey, nil), nil
			},
			dec: func(v string) (Ref, error) {
				t, err := pasetoParser.ParseV4Local(pasetoKey, v, nil)
				if err != nil {
					return Ref{}, err
				}
				var r Ref
				var errs [6]error
				errs[0] = t.Get("user_id", &r.UserID)
				errs[1] = t.Get("username", &r.Username)
				errs[2] = t.Get("csrf", &r.CSRF)
				errs[3] = t.Get("cart", &r.Cart)
				errs[4] = t.Get("prefs", &r.Prefs)
				errs[5] = t.Get("flash", &r.Flash)
				return r, firstErr(errs[:])
			},
			valueLen: plainLen,
		},
	}
}

// jwtClaims is the reference session as JWT claims, with an expiry as
// crumb seals one.
type jwtClaims struct {
	Ref
	jwt.RegisteredClaims
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fromJSONMap reads the reference session out of a map decoded from JSON,
// where numbers are float64 and lists and objects untyped.
func fromJSONMap(m map[string]any) (Ref, error) {
	var r Ref
	id, ok1 := m["user_id"].(float64)
	r.UserID = int(id)
	r.Username, _ = m["username"].(string)
	r.CSRF, _ = m["csrf"].(string)
	r.Flash, _ = m["flash"].(string)
	cart, ok2 := m["cart"].([]any)
	for _, c := range cart {
		f, _ := c.(float64)
		r.Cart = append(r.Cart, int(f))
	}
	p, ok3 := m["prefs"].(map[string]any)
	r.Prefs.Theme, _ = p["theme"].(string)
	r.Prefs.Lang, _ = p["lang"].(string)
	if !ok1 || !ok2 || !ok3 {
		return r, fmt.Errorf("unexpected types in %v", m)
	}
	return r, nil
}

// floorCase is the cost under any session library: seal and open a
// plaintext as long as crumb's with XChaCha20-Poly1305 from x/crypto, and
// encode and decode it with base64url, reusing every buffer.
type floorCase struct {
	plaintext, sealed, text, decoded, opened []byte
	seal, open                               func() error
}

// newFloor returns a floor for plaintexts of n bytes.
func newFloor(tb testing.TB, n int) *floorCase {
	tb.Helper()
	a, err := chacha20poly1305.NewX(secret(tb, chacha20poly1305.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	f := &floorCase{plaintext: secret(tb, n)}
	f.seal = func() error {
		nonce := f.sealed[:chacha20poly1305.NonceSizeX]
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		f.sealed = a.Seal(f.sealed[:len(nonce)], nonce, f.plaintext, nil)
		f.text = base64.RawURLEncoding.AppendEncode(f.text[:0], f.sealed)
		return nil
	}
	f.open = func() error {
		var err error
		f.decoded, err = base64.RawURLEncoding.AppendDecode(f.decoded[:0], f.text)
		if err != nil {
			return err
		}
		nonce := f.decoded[:chacha20poly1305.NonceSizeX]
		f.opened, err = a.Open(f.opened[:0], nonce, f.decoded[len(nonce):], nil)
		return err
	}
	f.sealed = make([]byte, 0, chacha20poly1305.NonceSizeX+n+chacha20poly1305.Overhead)
	f.sealed = f.sealed[:chacha20poly1305.NonceSizeX]
	return f
}

// roundTrip checks one floor round trip.
func (f *floorCase) roundTrip() error {
	if err := f.seal(); err != nil {
		return err
	}
	if err := f.open(); err != nil {
		return err
	}
	if !bytes.Equal(f.opened, f.plaintext) {
		return fmt.Errorf("floor: opened %d bytes that differ from the plaintext", len(f.opened))
	}
	return nil
}

// crumbPlaintextLen is the plaintext length of crumb's typed reference
// session, which the floor seals.
func crumbPlaintextLen(tb testing.TB, c codec) int {
	tb.Helper()
	v, err := c.enc()
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.DecodedLen(c.valueLen(v)) - crypto.Overhead
}

func TestRoundTrips(t *testing.T) {
	t.Parallel()
	cs := codecs(t)
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			v, err := c.enc()
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.dec(v)
			if err != nil {
				t.Fatal(err)
			}
			checkRef(t, got)
			// A changed byte in the middle of the value must not decode:
			// every codec here authenticates.
			i := len(v) - c.valueLen(v)/2
			bad := v[:i] + string(v[i]^1) + v[i+1:]
			if _, err := c.dec(bad); err == nil {
				t.Errorf("a value with byte %d changed decoded", i)
			}
		})
	}
	t.Run("floor", func(t *testing.T) {
		f := newFloor(t, crumbPlaintextLen(t, cs[0]))
		for range 3 {
			if err := f.roundTrip(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkRoundTrip(b *testing.B) {
	cs := codecs(b)
	b.Run("floor", func(b *testing.B) {
		f := newFloor(b, crumbPlaintextLen(b, cs[0]))
		b.ReportAllocs()
		for b.Loop() {
			if err := f.seal(); err != nil {
				b.Fatal(err)
			}
			if err := f.open(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(f.text)), "cookie-bytes")
	})
	for _, c := range cs {
		b.Run(c.name, func(b *testing.B) {
			var v string
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if v, err = c.enc(); err != nil {
					b.Fatal(err)
				}
				if _, err = c.dec(v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.valueLen(v)), "cookie-bytes")
		})
	}
}
