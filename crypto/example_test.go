package crypto_test

import (
	"errors"
	"fmt"

	"github.com/crumbhq/crumb/crypto"
)

// Seal a value for one cookie and open it again. The context binds the value
// to where it is used: it does not open anywhere else.
func Example() {
	key, err := crypto.GenerateKey() // in production: crypto.ParseKey(os.Getenv(...))
	if err != nil {
		panic(err)
	}
	context := crypto.Context("myapp/v1/remember-me", "__Host-remember")

	sealed, err := key.Seal(nil, []byte("user 42"), context)
	if err != nil {
		panic(err)
	}
	text := crypto.Encode(sealed) // the cookie value

	// Later, on a request:
	b, err := crypto.Decode(text)
	if err != nil {
		panic(err)
	}
	plaintext, err := key.Open(nil, b, context)
	fmt.Printf("%s %v\n", plaintext, err)

	// The same value under another cookie name is rejected.
	_, err = key.Open(nil, b, crypto.Context("myapp/v1/remember-me", "__Host-other"))
	fmt.Println(errors.Is(err, crypto.ErrInvalid))
	// Output:
	// user 42 <nil>
	// true
}

func ExampleParseKey() {
	// A key text that lost its last character when it was copied.
	_, err := crypto.ParseKey("crumbkey1_ad681e4c_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh")
	fmt.Println(errors.Is(err, crypto.ErrKey))
	fmt.Println(err)

	// Keys printed in documentation, such as this one from docs/FORMAT.md,
	// are refused.
	_, err = crypto.ParseKey("crumbkey1_ad681e4c_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	fmt.Println(errors.Is(err, crypto.ErrWeakKey))
	// Output:
	// true
	// crumb: invalid key: not a crumb key (want "crumbkey1_", 8 hex digits, '_' and 43 base64url characters)
	// true
}

func ExampleKey_Derive() {
	master, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	sessions, _ := master.Derive("cookiesession")
	csrf, _ := master.Derive("csrf")
	again, _ := master.Derive("cookiesession")

	fmt.Println(sessions.Equal(csrf), sessions.ID() == csrf.ID())
	fmt.Println(sessions.Equal(again))
	_, err = master.Derive("")
	fmt.Println(errors.Is(err, crypto.ErrKey))
	// Output:
	// false false
	// true
	// true
}

func ExampleContext() {
	fmt.Printf("%x\n", crypto.Context("ab", "c"))
	fmt.Printf("%x\n", crypto.Context("a", "bc"))
	fmt.Printf("%x\n", crypto.Context("crumb/v1/cookiesession", "__Host-session", ""))
	fmt.Println(len(crypto.Context()))
	// Output:
	// 0261620163
	// 0161026263
	// 166372756d622f76312f636f6f6b696573657373696f6e0e5f5f486f73742d73657373696f6e00
	// 0
}

func ExampleReasonOf() {
	key, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	other, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	context := crypto.Context("example")
	sealed, _ := other.Seal(nil, []byte("hi"), context)
	mine, _ := key.Seal(nil, []byte("hi"), context)
	mine[len(mine)-1] ^= 1

	_, errMalformed := crypto.Decode("not a crumb value")
	_, errUnknown := key.Open(nil, sealed, context)
	_, errForged := key.Open(nil, mine, context)

	for _, err := range []error{errMalformed, errUnknown, errForged} {
		// The client sees one error; the reason is for logs and metrics.
		fmt.Printf("%v | %v\n", err, crypto.ReasonOf(err))
	}
	// Output:
	// crumb: invalid sealed value | malformed
	// crumb: invalid sealed value | unknown key
	// crumb: invalid sealed value | unauthentic
}

func ExamplePeekHeader() {
	h, err := crypto.PeekHeader("AQGtaB5MMTIzNDU2Nzg5Ojs8PT4_QEFCQ0RFRkdIWej-q9Wjsktpi45FyLaLq1MdzWM-qmu-x5cTXg")
	fmt.Println(h.Chunks, h.KeyID, err)
	// Output:
	// 1 ad681e4c <nil>
}
