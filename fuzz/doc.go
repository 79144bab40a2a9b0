// Package fuzz holds crumb's fuzz targets. Each target's doc comment states
// the property it checks. Run one with, for example,
//
//	go test -run='^$' -fuzz='^FuzzOpen$' -fuzztime=30s ./fuzz
//
// The seed corpora come from crypto/testdata and the tamper cases of the
// package tests; .ci/run runs every target for a few seconds.
package fuzz
