// Command benchtable reads the output of crumb's benchmarks (go test
// -bench in the bench module, any -count) and prints a Markdown report:
// the median of each figure, the ratios the performance targets are stated
// in (crumb ÷ floor, peer ÷ crumb, hostile ÷ valid, middleware over the
// bare handler), and whether each target holds. bench/run calls it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	strict := flag.Bool("strict", false, "exit with status 1 if a target does not hold")
	flag.Parse()
	r, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	failed := r.write(os.Stdout)
	if *strict && failed > 0 {
		os.Exit(1)
	}
}

// results holds every figure of every benchmark, by name (without the
// Benchmark prefix and the -GOMAXPROCS suffix) and unit.
type results struct {
	cpu     string
	figures map[string]map[string][]float64
	order   []string
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(in io.Reader) (*results, error) {
	r := &results{figures: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := sc.Text()
		if cpu, ok := strings.CutPrefix(text, "cpu: "); ok {
			r.cpu = cpu
			continue
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		name, fields := m[1], strings.Fields(m[2])
		if r.figures[name] == nil {
			r.figures[name] = map[string][]float64{}
			r.order = append(r.order, name)
		}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", text, err)
			}
			r.figures[name][fields[i+1]] = append(r.figures[name][fields[i+1]], v)
		}
	}
	if len(r.order) == 0 {
		return nil, fmt.Errorf("no benchmark results in the input")
	}
	return r, sc.Err()
}

// median returns the median of a benchmark's figure in unit, and false if
// there is none.
func (r *results) median(name, unit string) (float64, bool) {
	vs := slices.Clone(r.figures[name][unit])
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

func (r *results) ns(name string) float64     { v, _ := r.median(name, "ns/op"); return v }
func (r *results) allocs(name string) float64 { v, _ := r.median(name, "allocs/op"); return v }
func (r *results) has(name string) bool       { _, ok := r.figures[name]; return ok }
func (r *results) runs(name string) int       { return len(r.figures[name]["ns/op"]) }

// num formats a figure with thousands separators.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	if v < 10 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	if neg {
		return "−" + b.String()
	}
	return b.String()
}

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

// write prints the report and returns how many targets do not hold.
func (r *results) write(w io.Writer) (failed int) {
	runs := 0
	for _, n := range r.order {
		runs = max(runs, r.runs(n))
	}
	fmt.Fprintf(w, "Medians of %d runs; %s, %d CPUs, %s, %s.\n\n", runs, strings.TrimSpace(r.cpu), runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"))

	floor := r.ns("RoundTrip/floor")
	typed, mapped := r.ns("RoundTrip/crumb/typed"), r.ns("RoundTrip/crumb/map")
	fmt.Fprintln(w, "**Round trip**: the reference session encoded into a cookie value and decoded back.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| codec | ns/op | × floor | ÷ crumb | allocs | cookie bytes |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, n := range r.order {
		codec, ok := strings.CutPrefix(n, "RoundTrip/")
		if !ok {
			continue
		}
		vsCrumb := ""
		if !strings.HasPrefix(codec, "crumb/") && codec != "floor" {
			base := typed
			if strings.HasSuffix(codec, "/map") {
				base = mapped
			}
			vsCrumb = ratio(r.ns(n) / base)
		}
		bytes, _ := r.median(n, "cookie-bytes")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", codec, num(r.ns(n)), ratio(r.ns(n)/floor), vsCrumb, num(r.allocs(n)), num(bytes))
	}
	fmt.Fprintln(w)

	bare := r.ns("Middleware/bare")
	bareAllocs := r.allocs("Middleware/bare")
	fmt.Fprintf(w, "**Middleware**: one request, time and allocations over the bare handler (%s ns, %s allocs).\n\n", num(bare), num(bareAllocs))
	fmt.Fprintln(w, "| path | crumb | scs | gorilla/sessions | crumb allocs | scs allocs | gorilla allocs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, path := range []string{"nocookie", "untouched", "read", "modify"} {
		row := "| " + path
		var allocs string
		for _, lib := range []string{"crumb", "scs", "gorilla"} {
			n := "Middleware/" + lib + "/" + path
			if !r.has(n) {
				row += " | n/a"
				allocs += " | n/a"
				continue
			}
			row += " | +" + num(r.ns(n)-bare) + " ns"
			allocs += " | +" + num(r.allocs(n)-bareAllocs)
		}
		fmt.Fprintln(w, row+allocs+" |")
	}
	fmt.Fprintln(w)

	read := r.ns("Hostile/valid-ref")
	fmt.Fprintln(w, "**Hostile cookies** through the read path, a different value on every request.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| cookie | ns/op | ÷ valid of the same length | ÷ reading the reference session | allocs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, n := range r.order {
		c, ok := strings.CutPrefix(n, "Hostile/")
		if !ok {
			continue
		}
		same := ""
		if strings.HasSuffix(c, "-largest") && c != "valid-largest" {
			same = ratio(r.ns(n) / r.ns("Hostile/valid-largest"))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", c, num(r.ns(n)), same, ratio(r.ns(n)/read), num(r.allocs(n)))
	}
	fmt.Fprintln(w)

	loadBare, loadCrumb := r.ns("Load/bare"), r.ns("Load/crumb-read")
	fmt.Fprintln(w, "**Loopback load**: a server reading one value per request, with and without the middleware, 16 clients.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| server | requests/s | p50 µs | p99 µs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, n := range []string{"Load/bare", "Load/crumb-read"} {
		p50, _ := r.median(n, "p50-µs")
		p99, _ := r.median(n, "p99-µs")
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimPrefix(n, "Load/"), num(1e9/r.ns(n)), num(p50), num(p99))
	}
	fmt.Fprintln(w)

	type target struct {
		what     string
		measured string
		holds    bool
	}
	hostileMax := max(r.ns("Hostile/garbage-max"), r.ns("Hostile/unknown-key-max"), r.ns("Hostile/wrong-tag-max"))
	over := func(path string) float64 { return r.ns("Middleware/crumb/"+path) - bare }
	loss := 1 - loadBare/loadCrumb
	targets := []target{
		{"typed round trip ≤ 4× the floor", ratio(typed / floor), typed <= 4*floor},
		{"typed round trip ≤ 15 allocations", num(r.allocs("RoundTrip/crumb/typed")), r.allocs("RoundTrip/crumb/typed") <= 15},
		{"map round trip ≤ 6× the floor", ratio(mapped / floor), mapped <= 6*floor},
		{"securecookie JSON ÷ crumb typed ≥ 2×", ratio(r.ns("RoundTrip/securecookie-json/typed") / typed), r.ns("RoundTrip/securecookie-json/typed") >= 2*typed},
		{"golang-jwt HS256 ÷ crumb typed ≥ 2×", ratio(r.ns("RoundTrip/jwt-hs256/typed") / typed), r.ns("RoundTrip/jwt-hs256/typed") >= 2*typed},
		{"securecookie gob ÷ crumb typed ≥ 8×", ratio(r.ns("RoundTrip/securecookie-gob/typed") / typed), r.ns("RoundTrip/securecookie-gob/typed") >= 8*typed},
		{"go-paseto v4.local ÷ crumb typed ≥ 8×", ratio(r.ns("RoundTrip/paseto-v4-local/map") / typed), r.ns("RoundTrip/paseto-v4-local/map") >= 8*typed},
		{"cookie untouched ≤ 400 ns over bare", num(over("untouched")) + " ns", over("untouched") <= 400},
		{"cookie untouched ≤ 2 allocations over bare", num(r.allocs("Middleware/crumb/untouched") - bareAllocs), r.allocs("Middleware/crumb/untouched")-bareAllocs <= 2},
		{"read one value ≤ 4 µs over bare", num(over("read")) + " ns", over("read") <= 4000},
		{"modify one value ≤ 8 µs over bare", num(over("modify")) + " ns", over("modify") <= 8000},
		{"rejecting ≤ opening a valid cookie of the same length", ratio(r.ns("Hostile/wrong-tag-largest") / r.ns("Hostile/valid-largest")), r.ns("Hostile/wrong-tag-largest") <= r.ns("Hostile/valid-largest")},
		{"max-length hostile cookie ≤ 2× reading the reference session", ratio(hostileMax / read), hostileMax <= 2*read},
		{"loopback load: the read path costs ≤ 10% of throughput", strconv.FormatFloat(100*loss, 'f', 1, 64) + "%", loss <= 0.10},
	}
	fmt.Fprintln(w, "**Targets**")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | holds |")
	fmt.Fprintln(w, "|---|---:|---|")
	for _, t := range targets {
		holds := "yes"
		if !t.holds {
			holds = "**no**"
			failed++
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.what, t.measured, holds)
	}
	return failed
}
