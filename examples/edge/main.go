//go:build js && wasm

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall/js"

	"github.com/crumbhq/crumb/cookiesession"
)

// main builds the session manager once, registers globalThis.crumbFetch
// and then waits, serving calls from the host, until the instance is
// dropped. The host sets globalThis.CRUMB_KEYS (a string in the key list
// format of package rotation) before it runs the module; main reads it
// once and removes it, so no later script finds the keys there.
func main() {
	global := js.Global()
	console := global.Get("console")
	text := ""
	if v := global.Get(keysVar); v.Type() == js.TypeString {
		text = v.String()
	}
	global.Delete(keysVar)
	keys, warning, err := loadKeys(text)
	if err != nil {
		console.Call("error", "crumb edge: "+err.Error())
		os.Exit(1)
	}
	if warning != "" {
		console.Call("warn", warning)
	}
	sessions, err := newManager(keys)
	if err != nil {
		console.Call("error", "crumb edge: "+err.Error())
		os.Exit(1)
	}
	global.Set("crumbFetch", js.FuncOf(func(_ js.Value, args []js.Value) any {
		return fetch(sessions, args)
	}))
	select {}
}

// fetch is crumbFetch(request, body): it reads the method, URL and Cookie
// header of a Fetch API Request, and body, the request's body as a
// Uint8Array (or a string), which the host reads, at most maxNote+1 bytes
// of it (reading it here would need a Promise); runs handle and returns a
// Response carrying every header field, each Set-Cookie appended on its
// own.
//
// Fetch API Headers join several Cookie fields into one value with ", "
// (HTTP/2 and some platforms send one field per cookie); the value is
// split there again, so that each field reaches Load as it would natively.
func fetch(sessions *cookiesession.Manager, args []js.Value) (response js.Value) {
	global := js.Global()
	defer func() {
		// A call with something other than a Request must not take the
		// instance, and every later request, down with it.
		if r := recover(); r != nil {
			global.Get("console").Call("error", fmt.Sprint("crumb edge: crumbFetch: ", r))
			response = global.Get("Response").New(`{"error":"internal error"}`+"\n", map[string]any{"status": 500})
		}
	}()
	req := args[0]
	var cookies []string
	if v := req.Get("headers").Call("get", "cookie"); v.Type() == js.TypeString && v.String() != "" {
		cookies = strings.Split(v.String(), ", ")
	}
	var body []byte
	if len(args) > 1 {
		switch b := args[1]; {
		case b.Type() == js.TypeString:
			body = []byte(b.String())
		case b.InstanceOf(global.Get("Uint8Array")):
			body = make([]byte, b.Get("length").Int())
			js.CopyBytesToGo(body, b)
		}
	}
	path := global.Get("URL").New(req.Get("url")).Get("pathname").String()
	status, header, respBody := handle(sessions, req.Get("method").String(), path, cookies, string(body))
	h := global.Get("Headers").New()
	for name, values := range header {
		for _, v := range values {
			h.Call("append", name, v)
		}
	}
	return global.Get("Response").New(respBody, map[string]any{"status": status, "headers": h})
}
