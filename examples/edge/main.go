//go:build js && wasm

package main

import (
	"fmt"
	"os"
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
// header of a Fetch API Request, and body, the request's body as text,
// which the host reads (await request.text(): reading it here would need a
// Promise); runs handle and returns a Response carrying every header field,
// each Set-Cookie appended on its own.
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
	cookie := ""
	if v := req.Get("headers").Call("get", "cookie"); v.Type() == js.TypeString {
		cookie = v.String()
	}
	body := ""
	if len(args) > 1 && args[1].Type() == js.TypeString {
		body = args[1].String()
	}
	path := global.Get("URL").New(req.Get("url")).Get("pathname").String()
	status, header, respBody := handle(sessions, req.Get("method").String(), path, cookie, body)
	h := global.Get("Headers").New()
	for name, values := range header {
		for _, v := range values {
			h.Call("append", name, v)
		}
	}
	return global.Get("Response").New(respBody, map[string]any{"status": status, "headers": h})
}
