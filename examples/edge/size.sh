#!/usr/bin/env bash
# size.sh: the sizes of the edge handler's WebAssembly binaries, raw and
# gzip -9 compressed (edge platforms limit the compressed size), next to
# the smallest Go programs for the same targets and to crumb without
# net/http (testdata/nohttp); with node, also each GOOS=js build's start
# under Node (testdata/start.mjs, medians of 5: compile+instantiate, and
# the Go program's start). Run from anywhere:
#
#	examples/edge/size.sh
#
# Builds use -trimpath -ldflags="-s -w", as a deployment would.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go version
printf '%-40s %12s %9s %12s %9s %20s\n' binary bytes MiB gzip-bytes MiB "node compile/start ms"
wasm_exec="$(go env GOROOT)/lib/wasm/wasm_exec.js"
measure() { # name GOOS package
	GOOS=$2 GOARCH=wasm go build -trimpath -ldflags="-s -w" -o "$out/$1.wasm" "$3"
	local raw gz start=""
	raw=$(wc -c <"$out/$1.wasm")
	gz=$(gzip -9 -c "$out/$1.wasm" | wc -c)
	if [ "$2" = js ] && command -v node >/dev/null; then
		for _ in 1 2 3 4 5; do node testdata/start.mjs "$out/$1.wasm" "$wasm_exec" 2>/dev/null; done >"$out/times"
		start="$(awk '{ print $2 }' "$out/times" | sort -n | sed -n 3p) / $(awk '{ print $4 }' "$out/times" | sort -n | sed -n 3p)"
	fi
	awk -v n="$1" -v r="$raw" -v g="$gz" -v st="$start" 'BEGIN { printf "%-40s %12d %9.2f %12d %9.2f %20s\n", n, r, r/1048576, g, g/1048576, st }'
}
measure "hello, GOOS=js (syscall/js)" js ./testdata/hello
measure "crumb without net/http, GOOS=js" js ./testdata/nohttp
measure "edge handler, GOOS=js" js .
measure "hello, GOOS=wasip1" wasip1 ./testdata/hello
measure "edge handler, GOOS=wasip1" wasip1 .
