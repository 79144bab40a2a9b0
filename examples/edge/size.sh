#!/usr/bin/env bash
# size.sh: the sizes of the edge handler's WebAssembly binaries, raw and
# gzip -9 compressed (edge platforms limit the compressed size), next to
# the smallest Go programs for the same targets. Run from anywhere:
#
#	examples/edge/size.sh
#
# Builds use -trimpath -ldflags="-s -w", as a deployment would.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go version
printf '%-34s %12s %9s %12s %9s\n' binary bytes MiB gzip-bytes MiB
measure() { # name GOOS package
	GOOS=$2 GOARCH=wasm go build -trimpath -ldflags="-s -w" -o "$out/$1.wasm" "$3"
	local raw gz
	raw=$(wc -c <"$out/$1.wasm")
	gz=$(gzip -9 -c "$out/$1.wasm" | wc -c)
	awk -v n="$1" -v r="$raw" -v g="$gz" 'BEGIN { printf "%-34s %12d %9.2f %12d %9.2f\n", n, r, r/1048576, g, g/1048576 }'
}
measure "hello, GOOS=js (syscall/js)" js ./testdata/hello
measure "edge handler, GOOS=js" js .
measure "hello, GOOS=wasip1" wasip1 ./testdata/hello
measure "edge handler, GOOS=wasip1" wasip1 .
