// Package compat checks migrate/gorilla against gorilla/securecookie and
// gorilla/sessions themselves: its tests make cookies with them and read
// them with crumb's reader. It is a module of its own, so that crumb's
// core module gains no dependency.
package compat
