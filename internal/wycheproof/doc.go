// Package wycheproof runs Project Wycheproof's XChaCha20-Poly1305 vectors
// through crumb's AEAD construction (internal/aead): its constructor, its
// Seal and Open, and its length checks.
//
// It is a separate module so that the core gains no dependency: the vectors
// come from the Go module github.com/c2sp/wycheproof, and a test-only
// requirement in the root go.mod would still appear in every user's module
// graph. This module requires crumb through a replace of ../.., so it builds
// both inside the repository's go.work and with GOWORK=off.
//
// The vectors are Apache-2.0 licensed (C2SP/wycheproof,
// https://github.com/C2SP/wycheproof) and are consumed through that module's
// embedded wycheproof.TestVectors, not copied into this repository.
package wycheproof
