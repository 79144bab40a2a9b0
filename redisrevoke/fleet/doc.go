// Package fleet holds the fleet test: three instances of a small
// application (separate processes) behind a round-robin proxy, sharing
// revocations through one redis-server, under a few dozen clients, while
// keys rotate, an instance dies and Redis restarts. It has no code of its
// own outside its tests; docs/OPERATIONS.md ("Running a fleet") says what
// it shows and how to run it for longer.
package fleet
