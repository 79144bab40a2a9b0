//go:build js

package main

import "syscall/js"

// started tells the host the program is up, and keeps it running.
func started() {
	js.Global().Set("crumbStarted", true)
	select {}
}
