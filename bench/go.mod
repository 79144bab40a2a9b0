module github.com/crumbhq/crumb/bench

go 1.26.4

require (
	aidanwoods.dev/go-paseto v1.6.0
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/crumbhq/crumb v0.0.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	golang.org/x/crypto v0.59.0
)

require (
	aidanwoods.dev/go-result v0.3.1 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/crumbhq/crumb => ../
