package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxCookieLine bounds the Cookie header line the WASI command reads:
// browsers send at most a few KiB of cookies per host.
const maxCookieLine = 16 << 10

// readCookieLine reads one line from r, a Cookie header ("Cookie: a=b; c=d")
// or only its value ("a=b; c=d"), and returns the value. Empty input gives
// "". A line longer than maxCookieLine is an error. Given a *bufio.Reader
// of at least maxCookieLine bytes, it reads through it, so that what
// follows the line (a request body) can be read from it next.
func readCookieLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, maxCookieLine).ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("cookie line longer than %d bytes", maxCookieLine)
	case err != nil && err != io.EOF:
		return "", err
	}
	v := strings.TrimRight(string(line), "\r\n")
	if name, value, ok := strings.Cut(v, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "cookie") {
		v = value
	}
	return strings.TrimSpace(v), nil
}

// writeResponse writes a CGI-style response: a Status line, the header
// fields, a blank line and the body.
func writeResponse(w io.Writer, status int, header http.Header, body string) error {
	if _, err := fmt.Fprintf(w, "Status: %d %s\r\n", status, http.StatusText(status)); err != nil {
		return err
	}
	if err := header.Write(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n"+body)
	return err
}
