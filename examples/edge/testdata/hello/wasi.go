//go:build wasip1

// Command hello is the smallest wasip1 command, for size.sh to measure
// against: it writes one line and exits.
package main

import "os"

func main() {
	os.Stdout.WriteString("hello\n")
}
