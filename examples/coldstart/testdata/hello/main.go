// Command hello is the baseline for coldstart_test.go: a Go program that
// prints {} and exits, so that a fresh crumb process can be compared with
// the least a Go process costs.
package main

import "os"

func main() { os.Stdout.WriteString("{}\n") }
