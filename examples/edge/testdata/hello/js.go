//go:build js && wasm

// Command hello is the smallest js/wasm handler, for size.sh to measure
// against: it registers one global function and waits for calls.
package main

import "syscall/js"

func main() {
	js.Global().Set("hello", js.FuncOf(func(js.Value, []js.Value) any { return "hello" }))
	select {}
}
