package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// Cart is stored in the session as a CBOR struct with integer keys: compact,
// and safe to rename fields in Go.
type Cart struct {
	Items []string `cbor:"1,keyasint,omitempty"`
}

// Flash is a typed flash message.
type Flash struct {
	Kind string `cbor:"1,keyasint"` // "ok" or "error"
	Text string `cbor:"2,keyasint"`
}

type app struct {
	sessions *cookiesession.Manager
	now      func() time.Time
}

// newApp returns the application's handler: crumb's middleware around the
// routes, and Go's cross-origin protection around the forms.
func newApp(keys rotation.Source, logger *slog.Logger, now func() time.Time) (http.Handler, error) {
	sessions, err := cookiesession.New(cookiesession.Config{
		Keys:             keys,
		Lifetime:         30 * time.Minute, // idle timeout
		RenewAfter:       10 * time.Minute, // an active user's cookie is re-sealed at most every 10 minutes
		AbsoluteLifetime: 8 * time.Hour,    // log in again at least this often
		Logger:           logger,
		Clock:            now,
	})
	if err != nil {
		return nil, err
	}
	a := &app{sessions: sessions, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /cart", a.addToCart)
	mux.HandleFunc("POST /cart/clear", a.clearCart)
	mux.HandleFunc("GET /session", a.inspect)
	return http.NewCrossOriginProtection().Handler(sessions.Handler(mux)), nil
}

func session(r *http.Request) *cookiesession.Session {
	s, _ := cookiesession.FromContext(r.Context())
	return s
}

func redirectHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func flash(w http.ResponseWriter, s *cookiesession.Session, kind, text string) bool {
	if err := cookiesession.AddFlash(s, Flash{Kind: kind, Text: text}); err != nil {
		http.Error(w, "cannot store flash message", http.StatusInternalServerError)
		return false
	}
	return true
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	name := strings.TrimSpace(r.FormValue("name"))
	if name == "" || len(name) > 64 {
		flash(w, s, "error", "Please give a name of 1 to 64 characters.")
		redirectHome(w, r)
		return
	}
	// A new session ID at every privilege change defeats session fixation.
	if err := s.CycleKey(); err != nil {
		http.Error(w, "cannot renew session", http.StatusInternalServerError)
		return
	}
	if err := s.SetSubject(name); err != nil {
		http.Error(w, "bad name", http.StatusBadRequest) // not valid UTF-8
		return
	}
	if err := s.Set("user", name); err != nil {
		http.Error(w, "cannot store user", http.StatusInternalServerError)
		return
	}
	if flash(w, s, "ok", "Welcome, "+name+"!") {
		redirectHome(w, r)
	}
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	if err := s.Flush(); err != nil {
		http.Error(w, "cannot end session", http.StatusInternalServerError)
		return
	}
	// The flushed session starts afresh, holding only this message.
	if flash(w, s, "ok", "You are logged out.") {
		redirectHome(w, r)
	}
}

func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	item := strings.TrimSpace(r.FormValue("item"))
	if item == "" || len(item) > 40 {
		flash(w, s, "error", "Items need a name of 1 to 40 characters.")
		redirectHome(w, r)
		return
	}
	cart, _, err := cookiesession.Get[Cart](s, "cart")
	if err != nil {
		http.Error(w, "bad cart", http.StatusInternalServerError)
		return
	}
	cart.Items = append(cart.Items, item)
	if err := s.Set("cart", cart); err != nil {
		http.Error(w, "cannot store cart", http.StatusInternalServerError)
		return
	}
	if flash(w, s, "ok", "Added "+item+" to your cart.") {
		redirectHome(w, r)
	}
}

func (a *app) clearCart(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	s.Delete("cart")
	if flash(w, s, "ok", "Your cart is empty.") {
		redirectHome(w, r)
	}
}

type homeData struct {
	User    string
	Cart    Cart
	Flashes []Flash
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	var d homeData
	var err error
	if d.User, _, err = cookiesession.Get[string](s, "user"); err == nil {
		d.Cart, _, err = cookiesession.Get[Cart](s, "cart")
	}
	if err == nil {
		d.Flashes, err = cookiesession.Flashes[Flash](s)
	}
	if err != nil {
		http.Error(w, "bad session data", http.StatusInternalServerError)
		return
	}
	render(w, homeTmpl, d)
}

type inspectData struct {
	Info          cookiesession.Info
	Keys          []string
	Items         map[string]any
	ExpiryDate    time.Time
	ExpiryAge     time.Duration
	CookieName    string
	CookieSize    int
	IsEmpty       bool
	ItemsErrorMsg string
}

func (a *app) inspect(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	d := inspectData{
		Info:       s.Info(),
		Keys:       s.Keys(),
		ExpiryDate: s.ExpiryDate(),
		ExpiryAge:  s.ExpiryDate().Sub(a.now()).Round(time.Second),
		CookieName: a.sessions.Name(),
		IsEmpty:    s.IsEmpty(),
	}
	if c, err := r.Cookie(a.sessions.Name()); err == nil {
		d.CookieSize = len(c.Name) + 1 + len(c.Value)
	}
	var err error
	if d.Items, err = s.Items(); err != nil {
		d.ItemsErrorMsg = err.Error()
	}
	render(w, inspectTmpl, d)
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		// The status is already out; nothing better to do than stop.
		return
	}
}

const layout = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>crumb example</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
.ok{background:#e6f4ea;padding:.5rem}.error{background:#fce8e6;padding:.5rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}form{margin:.5rem 0}</style></head><body>
<h1><a href="/">crumb</a> example</h1>{{template "body" .}}</body></html>`

var homeTmpl = template.Must(template.Must(template.New("home").Parse(layout)).Parse(`{{define "body"}}
{{range .Flashes}}<p class="{{.Kind}}" id="flash">{{.Text}}</p>{{end}}
{{if .User}}
<p>Logged in as <strong id="user">{{.User}}</strong>.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{else}}
<form method="post" action="/login"><label>Name <input name="name" required maxlength="64"></label> <button>Log in</button></form>
{{end}}
<h2>Cart</h2>
<ul id="cart">{{range .Cart.Items}}<li>{{.}}</li>{{else}}<li><em>empty</em></li>{{end}}</ul>
<form method="post" action="/cart"><input name="item" required maxlength="40" placeholder="an item"> <button>Add</button></form>
<form method="post" action="/cart/clear"><button>Empty cart</button></form>
<p><a href="/session">What is in my session?</a></p>
{{end}}`))

var inspectTmpl = template.Must(template.Must(template.New("inspect").Parse(layout)).Parse(`{{define "body"}}
<h2>Your session</h2>
{{if .IsEmpty}}<p>The session is empty: no cookie yet.</p>{{end}}
<dl>
<dt>ID</dt><dd><code id="sid">{{.Info.ID}}</code> (random, sealed inside the cookie)</dd>
<dt>Subject</dt><dd>{{.Info.Subject}}</dd>
<dt>Issued</dt><dd>{{if not .Info.IssuedAt.IsZero}}{{.Info.IssuedAt.UTC}}{{end}}</dd>
<dt>Last saved</dt><dd>{{if not .Info.SavedAt.IsZero}}{{.Info.SavedAt.UTC}}{{end}}</dd>
<dt>Valid until</dt><dd id="expires">{{if not .Info.Expires.IsZero}}{{.Info.Expires.UTC}}{{end}}</dd>
<dt>If saved now, valid until</dt><dd>{{.ExpiryDate.UTC}} ({{.ExpiryAge}})</dd>
<dt>Cookie</dt><dd><code>{{.CookieName}}</code>, <span id="size">{{.CookieSize}}</span> bytes of the 4096 a browser keeps</dd>
</dl>
<h3>Data</h3>
{{if .ItemsErrorMsg}}<p class="error">{{.ItemsErrorMsg}}</p>{{end}}
<ul id="data">{{range $k, $v := .Items}}<li><code>{{$k}}</code>: {{printf "%v" $v}}</li>{{else}}<li><em>none</em></li>{{end}}</ul>
{{end}}`))
