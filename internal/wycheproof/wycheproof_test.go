package wycheproof_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"testing"

	"github.com/c2sp/wycheproof"
	"github.com/crumbhq/crumb/internal/aead"
)

// vectorFile is read from wycheproof.TestVectors (testvectors_v1 of
// C2SP/wycheproof, Apache-2.0), pinned by this module's go.mod.
const vectorFile = "xchacha20_poly1305_test.json"

// Expected contents of vectorFile, counted from the file. A new wycheproof
// version that changes them fails the test, so that someone reads the change.
const (
	wantTests   = 315
	wantValid   = 246
	wantInvalid = 69
)

var wantFlags = map[string]int{
	"Pseudorandom":       120,
	"EdgeCasePoly1305":   84,
	"ModifiedTag":        60,
	"EdgeCaseCiphertext": 24,
	"EdgeCasePolyKey":    10,
	"InvalidNonceSize":   9,
	"EdgeCaseTag":        7,
	"Ktv":                1,
}

// The schema is aead_test_schema_v1.json. Byte fields are hex; ct excludes
// both the IV and the tag.
type testFile struct {
	Algorithm     string          `json:"algorithm"`
	Schema        string          `json:"schema"`
	NumberOfTests int             `json:"numberOfTests"`
	Header        []string        `json:"header"`
	Notes         json.RawMessage `json:"notes"`
	TestGroups    []testGroup     `json:"testGroups"`
}

type testGroup struct {
	Type    string     `json:"type"`
	Source  any        `json:"source"`
	IVSize  int        `json:"ivSize"`
	KeySize int        `json:"keySize"`
	TagSize int        `json:"tagSize"`
	Tests   []testCase `json:"tests"`
}

type testCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Key     hexBytes `json:"key"`
	IV      hexBytes `json:"iv"`
	AAD     hexBytes `json:"aad"`
	Msg     hexBytes `json:"msg"`
	CT      hexBytes `json:"ct"`
	Tag     hexBytes `json:"tag"`
	Result  string   `json:"result"`
	Flags   []string `json:"flags"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

func loadVectors(t *testing.T) *testFile {
	t.Helper()
	data, err := fs.ReadFile(wycheproof.TestVectors, vectorFile)
	if err != nil {
		t.Fatalf("reading %s from wycheproof.TestVectors: %v", vectorFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f testFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decoding %s: %v", vectorFile, err)
	}
	return &f
}

// TestXChaCha20Poly1305 runs every vector through aead.New, Seal and Open.
//
//   - valid: Seal reproduces ct‖tag byte-exactly, and Open returns msg.
//   - invalid with a 24-byte nonce: Open fails with ErrOpen after exactly one
//     AEAD operation, and Seal of msg does not produce the vector's ct‖tag.
//   - invalid with any other nonce size (the InvalidNonceSize vectors):
//     crumb's own length checks reject both Seal (ErrSeal) and Open
//     (ErrOpen) before x/crypto, which would panic on them, is reached.
//     There is no recover here: a panic would crash the test binary.
//   - acceptable: the file has none. The harness fails on one, so that a
//     person decides what crumb should do with it.
func TestXChaCha20Poly1305(t *testing.T) {
	f := loadVectors(t)
	if f.Algorithm != "XCHACHA20-POLY1305" {
		t.Fatalf("algorithm = %q, want XCHACHA20-POLY1305", f.Algorithm)
	}
	if f.Schema != "aead_test_schema_v1.json" {
		t.Fatalf("schema = %q, want aead_test_schema_v1.json", f.Schema)
	}
	if f.NumberOfTests != wantTests {
		t.Fatalf("numberOfTests = %d, want %d", f.NumberOfTests, wantTests)
	}

	var ran, valid, invalid, acceptable, nonceRejected int
	flags := map[string]int{}
	for _, g := range f.TestGroups {
		if g.Type != "AeadTest" || g.KeySize != 256 || g.TagSize != 128 {
			t.Fatalf("group type=%s keySize=%d tagSize=%d, want AeadTest, 256, 128", g.Type, g.KeySize, g.TagSize)
		}
		for _, tc := range g.Tests {
			t.Run(fmt.Sprintf("tcId=%d", tc.TcID), func(t *testing.T) {
				ran++
				for _, fl := range tc.Flags {
					flags[fl]++
				}
				switch tc.Result {
				case "valid":
					valid++
				case "invalid":
					invalid++
				case "acceptable":
					acceptable++
					t.Fatalf("acceptable vector (%s, flags %v): decide and document how crumb treats it", tc.Comment, tc.Flags)
				default:
					t.Fatalf("unknown result %q", tc.Result)
				}
				if len(tc.IV)*8 != g.IVSize {
					t.Fatalf("len(iv) = %d bits, group ivSize = %d", len(tc.IV)*8, g.IVSize)
				}
				if runVector(t, tc) {
					nonceRejected++
				}
			})
		}
	}

	if ran != wantTests || ran != f.NumberOfTests {
		t.Errorf("ran %d tests, want %d (numberOfTests %d)", ran, wantTests, f.NumberOfTests)
	}
	if valid != wantValid || invalid != wantInvalid || acceptable != 0 {
		t.Errorf("results: %d valid, %d invalid, %d acceptable; want %d, %d, 0",
			valid, invalid, acceptable, wantValid, wantInvalid)
	}
	if !maps.Equal(flags, wantFlags) {
		t.Errorf("flags = %v, want %v", flags, wantFlags)
	}
	if nonceRejected != wantFlags["InvalidNonceSize"] {
		t.Errorf("%d vectors rejected by the nonce length check, want %d", nonceRejected, wantFlags["InvalidNonceSize"])
	}
	t.Logf("ran %d: %d valid, %d invalid (%d by crumb's nonce length check), %d acceptable; flags %v",
		ran, valid, invalid, nonceRejected, acceptable, flags)
}

// runVector checks one vector and reports whether crumb rejected it for its
// nonce size.
func runVector(t *testing.T, tc testCase) (nonceRejected bool) {
	t.Helper()
	a, err := aead.New(tc.Key)
	if err != nil {
		t.Fatalf("New(%d-byte key) = %v", len(tc.Key), err)
	}
	ctTag := append(bytes.Clone(tc.CT), tc.Tag...)
	badNonce := slices.Contains(tc.Flags, "InvalidNonceSize")
	if badNonce != (len(tc.IV) != aead.NonceSize) {
		t.Fatalf("%d-byte nonce, InvalidNonceSize flag = %v", len(tc.IV), badNonce)
	}

	before := a.Opens()
	opened, openErr := a.Open(nil, tc.IV, ctTag, tc.AAD)
	reached := a.Opens() - before

	if badNonce {
		if tc.Result != "invalid" {
			t.Fatalf("InvalidNonceSize vector has result %q", tc.Result)
		}
		if !errors.Is(openErr, aead.ErrOpen) || opened != nil {
			t.Errorf("Open(%d-byte nonce) = %x, %v; want nil, ErrOpen", len(tc.IV), opened, openErr)
		}
		if reached != 0 {
			t.Errorf("Open(%d-byte nonce) reached the cipher %d times, want 0", len(tc.IV), reached)
		}
		if sealed, err := a.Seal(nil, tc.IV, tc.Msg, tc.AAD); !errors.Is(err, aead.ErrSeal) || sealed != nil {
			t.Errorf("Seal(%d-byte nonce) = %x, %v; want nil, ErrSeal", len(tc.IV), sealed, err)
		}
		return true
	}

	// Everything else reaches the cipher exactly once, unless it is too
	// short to hold a tag.
	want := uint64(1)
	if len(ctTag) < aead.TagSize {
		want = 0
	}
	if reached != want {
		t.Errorf("Open(%d-byte input) reached the cipher %d times, want %d", len(ctTag), reached, want)
	}

	sealed, sealErr := a.Seal(nil, tc.IV, tc.Msg, tc.AAD)
	if sealErr != nil {
		t.Fatalf("Seal = %v", sealErr)
	}

	switch tc.Result {
	case "valid":
		if !bytes.Equal(sealed, ctTag) {
			t.Errorf("Seal = %x, want ct‖tag %x", sealed, ctTag)
		}
		if openErr != nil {
			t.Errorf("Open = %v, want nil", openErr)
		} else if !bytes.Equal(opened, tc.Msg) {
			t.Errorf("Open = %x, want %x", opened, tc.Msg)
		}
	case "invalid":
		if !errors.Is(openErr, aead.ErrOpen) || opened != nil {
			t.Errorf("Open = %x, %v; want nil, ErrOpen", opened, openErr)
		}
		if bytes.Equal(sealed, ctTag) {
			t.Errorf("Seal(msg) reproduced the invalid vector's ct‖tag")
		}
	}
	return false
}
