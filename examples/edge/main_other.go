//go:build !(js && wasm) && !wasip1

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "edge is a WebAssembly handler: build it with GOOS=js GOARCH=wasm or GOOS=wasip1 GOARCH=wasm (see size.sh)")
	os.Exit(2)
}
