package cookiesession

// The pooled buffers go back holding ciphertext, or nothing: tested on the
// buffers themselves, which only the package can see.

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/internal/format"
	"github.com/crumbhq/crumb/rotation"
	"github.com/fxamacker/cbor/v2"
)

// marker is session data that must never be left in a pooled buffer.
const marker = "SECRET-SESSION-DATA-"

// bufferManager returns a Manager with a fresh key, its keyring, and the
// text form of a session holding marker data.
func bufferManager(t *testing.T) (*Manager, *rotation.Keyring, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rotation.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Load(context.Background())
	if err := s.Set("k", strings.Repeat(marker, 10)); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if err := m.Commit(s, http.StatusOK, h); err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	return m, ring, strings.TrimPrefix(line, m.Name()+"=")
}

// dirty returns a pooled-size buffer full of 0xff, so that clearing shows.
func dirty() []byte {
	return bytes.Repeat([]byte{0xff}, format.MaxChunkLen/4*3)[:0]
}

func TestBuffersOpenClears(t *testing.T) {
	t.Parallel()
	m, ring, text := bufferManager(t)
	sealed, ok := format.Parse(text)
	if !ok {
		t.Fatal("the session's own cookie does not parse")
	}
	tampered := bytes.Clone(sealed.Sealed)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name, text string
		opens      bool
	}{
		{"valid", text, true},
		{"wrong tag", format.Encode(tampered), false},
		{"malformed", text[:len(text)-1] + "!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := dirty()
			pt, _, err := openIn(buf, ring, tc.text, 1, m.ad)
			if (err == nil) != tc.opens {
				t.Fatalf("openIn error %v, want opened %v", err, tc.opens)
			}
			if tc.opens && !bytes.Contains(pt, []byte(marker)) {
				t.Errorf("the plaintext returned lacks the session data")
			}
			n := min(cap(buf), len(tc.text)/4*3+2)
			if used := buf[:n]; bytes.ContainsFunc(used, func(r rune) bool { return r != 0 }) {
				t.Errorf("the buffer was not cleared: %q…", used[:min(len(used), 40)])
			}
		})
	}
}

func TestBuffersSealLeavesCiphertext(t *testing.T) {
	t.Parallel()
	m, ring, _ := bufferManager(t)
	now := time.Now().UnixNano()
	p := &payload{ID: make([]byte, idLen), IssuedAt: now, SavedAt: now, Deadline: now + int64(time.Hour),
		Data: map[string]cbor.RawMessage{"k": append(appendHead(nil, majorText, uint64(len(marker))), marker...)}}
	for _, tc := range []struct {
		name  string
		ring  *rotation.Keyring
		seals bool
	}{
		{"sealed", ring, true},
		{"no keys", nil, false}, // fails after the payload is encoded
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := dirty()
			lines, err := m.sealIn(buf, nil, tc.ring, Expiry{}, p, now)
			if (err == nil) != tc.seals || (len(lines) == 1) != tc.seals {
				t.Fatalf("sealIn = %d lines, %v; want sealed %v", len(lines), err, tc.seals)
			}
			if bytes.Contains(buf[:cap(buf)], []byte(marker)) {
				t.Errorf("the buffer holds the session data after sealIn")
			}
		})
	}
}
