module github.com/crumbhq/crumb

go 1.26.4

require (
	github.com/fxamacker/cbor/v2 v2.10.0
	golang.org/x/crypto v0.59.0
)

require (
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
