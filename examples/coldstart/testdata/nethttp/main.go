// Command nethttp is the second baseline for coldstart_test.go: hello with
// net/http linked in (crumb's cookiesession imports it), so that what a
// crumb process costs beyond net/http's own start-up can be told apart.
package main

import (
	"os"

	_ "net/http"
)

func main() { os.Stdout.WriteString("{}\n") }
