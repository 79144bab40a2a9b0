package crypto_test

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/crumbhq/crumb/crypto"
)

// Seal a value and open it again. The additional data binds the value to
// where it is used: it does not open anywhere else. (Sessions need none of
// this: package cookiesession seals them.)
func Example() {
	key, err := crypto.GenerateKey() // in production: crypto.ParseKey(os.Getenv(...))
	if err != nil {
		panic(err)
	}
	ad := []byte("myapp/v1/remember-me")

	sealed, err := key.Seal(nil, []byte("user 42"), ad)
	if err != nil {
		panic(err)
	}
	text := base64.RawURLEncoding.EncodeToString(sealed) // to store in a cookie
	fmt.Println(len(sealed) == len("user 42")+crypto.Overhead, len(text))

	// Later:
	b, _ := base64.RawURLEncoding.DecodeString(text)
	plaintext, err := key.Open(nil, b, ad)
	fmt.Printf("%s %v\n", plaintext, err)

	// The same value under other additional data is rejected.
	_, err = key.Open(nil, b, []byte("myapp/v1/other"))
	fmt.Println(errors.Is(err, crypto.ErrInvalid))
	// Output:
	// true 71
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
	shop, _ := master.Derive("shop")
	blog, _ := master.Derive("blog")
	again, _ := master.Derive("shop")

	fmt.Println(shop.Equal(blog), shop.ID() == blog.ID())
	fmt.Println(shop.Equal(again))
	_, err = master.Derive("")
	fmt.Println(errors.Is(err, crypto.ErrKey))
	// Output:
	// false false
	// true
	// true
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
	ad := []byte("example")
	sealed, _ := other.Seal(nil, []byte("hi"), ad)
	mine, _ := key.Seal(nil, []byte("hi"), ad)
	mine[len(mine)-1] ^= 1

	_, errMalformed := key.Open(nil, []byte("not a crumb value"), ad)
	_, errUnknown := key.Open(nil, sealed, ad)
	_, errForged := key.Open(nil, mine, ad)

	for _, err := range []error{errMalformed, errUnknown, errForged} {
		// The client sees one error; the reason is for logs and metrics.
		fmt.Printf("%v | %v\n", err, crypto.ReasonOf(err))
	}
	// Output:
	// crumb: invalid sealed value | malformed
	// crumb: invalid sealed value | unknown key
	// crumb: invalid sealed value | unauthentic
}
