module github.com/crumbhq/crumb/migrate/gorilla/compat

go 1.26.4

require (
	github.com/crumbhq/crumb v0.0.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
)

replace github.com/crumbhq/crumb => ../../..
