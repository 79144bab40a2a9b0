package recipes

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The documents whose Go snippets must compile: a snippet that is a whole
// file (it starts with "package") as it is, one that declares functions
// in a file of its own, and a run of statements as a block in a function
// returning an error, with the names the documents leave to the reader
// (ctx, sessions, mux, addr, hashKey, blockKey) as its parameters.
//
// Each document must hold at least the number of snippets given, so that
// a lost snippet, or a broken extraction, cannot pass unnoticed.
var snippetDocs = map[string]int{"../../README.md": 2, "../../docs/KEYS.md": 1, "../../docs/OPERATIONS.md": 3}

const snippetHeader = `package snippet

import (
	"context"
	"expvar"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
	"github.com/crumbhq/crumb/migrate"
	"github.com/crumbhq/crumb/migrate/django"
	"github.com/crumbhq/crumb/migrate/gorilla"
	"github.com/crumbhq/crumb/rotation"
)

var (
	_ = context.Background
	_ = expvar.Publish
	_ = log.Fatal
	_ = http.NewServeMux
	_ = os.Getenv
	_ = strings.Fields
	_ = time.Now
	_ = cookiesession.New
	_ = crypto.ParseKey
	_ = migrate.Handler
	_ = django.Reader{}
	_ = gorilla.Reader{}
	_ = rotation.FromEnv
)
`

func TestDocSnippetsCompile(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the snippets with")
	}
	// A directory whose name starts with "_": go list ./... and go vet
	// ./... ignore it, should a killed test leave it behind.
	dir, err := os.MkdirTemp(".", "_snippets-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	block := regexp.MustCompile("(?s)```go\n(.*?)```")
	where := map[string]string{} // snippet directory → document and line
	var pkgs []string
	for doc, least := range snippetDocs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		found := block.FindAllStringSubmatchIndex(string(text), -1)
		if len(found) < least {
			t.Errorf("%s holds %d Go snippets, want at least %d", doc, len(found), least)
		}
		for i, m := range found {
			code := string(text[m[2]:m[3]])
			var src string
			switch {
			case strings.HasPrefix(code, "package "):
				src = code
			case strings.HasPrefix(uncommented(code), "func "):
				src = snippetHeader + "\n" + code
			default: // in a block of its own, so that it may declare the parameters' names again
				src = snippetHeader + "\nfunc snippet(ctx context.Context, sessions *cookiesession.Manager, mux *http.ServeMux, addr string, hashKey, blockKey []byte) error {\n{\n" + code + "\n}\nreturn nil\n}\n"
			}
			sub := filepath.Join(dir, fmt.Sprintf("%s_%d", strings.TrimSuffix(filepath.Base(doc), ".md"), i))
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "snippet.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			where[filepath.Base(sub)] = fmt.Sprintf("%s line %d", doc, 1+strings.Count(string(text[:m[0]]), "\n"))
			pkgs = append(pkgs, "./"+sub) // named one by one: "..." skips directories starting with "_"
		}
	}
	out, err := exec.Command("go", append([]string{"build", "-o", os.DevNull}, pkgs...)...).CombinedOutput()
	if err != nil {
		msg := string(out)
		for sub, w := range where {
			msg = strings.ReplaceAll(msg, sub+"/snippet.go", w+" (snippet.go)")
		}
		t.Fatalf("the documents' Go snippets do not compile:\n%s", msg)
	}
}

// uncommented returns code without its leading comment lines.
func uncommented(code string) string {
	for strings.HasPrefix(code, "//") {
		_, code, _ = strings.Cut(code, "\n")
	}
	return code
}
