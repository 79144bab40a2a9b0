// Command nohttp links what the edge handler needs of crumb but net/http:
// the keys and sealing (crypto, rotation), CBOR and log/slog, and uses
// them once. size.sh builds it to show what net/http adds to the handler.
package main

import (
	"log/slog"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

func main() {
	k, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		panic(err)
	}
	pt, err := cbor.Marshal(map[string]any{"count": 1})
	if err != nil {
		panic(err)
	}
	sealed, err := ring.Seal(nil, pt, []byte("sessionid"))
	if err != nil {
		panic(err)
	}
	if _, _, err := ring.Open(nil, sealed, []byte("sessionid")); err != nil {
		panic(err)
	}
	slog.Debug("sealed and opened", "bytes", len(sealed))
	started()
}
