module github.com/crumbhq/crumb/examples

go 1.26.4

require github.com/crumbhq/crumb v0.0.0

require (
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/crumbhq/crumb => ../
