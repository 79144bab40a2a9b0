//go:build wasip1

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// main serves one request as a WASI command, CGI style: the method and
// path are its arguments (default GET /count), the request's Cookie header
// line is the first line of standard input and its body the rest, and the
// response (a Status line, the header
// fields with every Set-Cookie, a blank line and the body) goes to
// standard output. Keys come from the CRUMB_KEYS environment variable.
//
//	echo "Cookie: __Host-sessionid=..." | wasmtime --env CRUMB_KEYS edge.wasm GET /count
func main() {
	keys, warning, err := loadKeys(os.Getenv(keysVar))
	if err != nil {
		fail(err)
	}
	if warning != "" {
		fmt.Fprintln(os.Stderr, warning)
	}
	sessions, err := newManager(keys)
	if err != nil {
		fail(err)
	}
	method, path := "GET", "/count"
	if len(os.Args) > 1 {
		method = os.Args[1]
	}
	if len(os.Args) > 2 {
		path = os.Args[2]
	}
	// The Cookie line, then the request body: what follows it.
	in := bufio.NewReaderSize(os.Stdin, maxCookieLine)
	cookie, err := readCookieLine(in)
	if err != nil {
		fail(err)
	}
	reqBody, err := io.ReadAll(io.LimitReader(in, maxNote+1))
	if err != nil {
		fail(err)
	}
	var cookies []string
	if cookie != "" {
		cookies = []string{cookie}
	}
	status, header, body := handle(sessions, method, path, cookies, string(reqBody))
	if err := writeResponse(os.Stdout, status, header, body); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crumb edge:", err)
	os.Exit(1)
}
