package main

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/crypto"
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
	keys     *rotation.Holder
	limits   limits
	now      func() time.Time
	logger   *slog.Logger
}

// limits are the cookie limits the Manager enforces, for the pages.
type limits struct {
	MaxCookieSize, MaxChunks, MaxHeaderBytes int
}

// newApp returns the application's handler: crumb's middleware around the
// routes, and Go's cross-origin protection around the forms.
func newApp(keys *rotation.Holder, set settings, logger *slog.Logger, now func() time.Time) (http.Handler, error) {
	cfg := cookiesession.Config{
		Keys:             keys,
		Lifetime:         set.lifetime,   // idle timeout
		RenewAfter:       set.renewAfter, // an active user's cookie is re-sealed at most this often
		AbsoluteLifetime: set.absolute,   // log in again at least this often
		MaxChunks:        set.chunks,
		MaxHeaderBytes:   set.maxHeaderBytes,
		// Logout is final: Flush tells the deny list, and a copy of the
		// cookie replayed later opens as a fresh session (ErrRevoked).
		// One process; several instances share a store instead.
		Revoker: &cookiesession.DenyList{},
		Logger:  logger,
		Clock:   now,
	}
	sessions, err := cookiesession.New(cfg)
	if err != nil {
		return nil, err
	}
	a := &app{sessions: sessions, keys: keys, now: now, logger: logger, limits: limits{
		MaxCookieSize:  cookiesession.MaxCookieSize, // the default this example keeps
		MaxChunks:      max(set.chunks, 1),
		MaxHeaderBytes: cmp.Or(set.maxHeaderBytes, 7168), // the library's default
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /cart", a.addToCart)
	mux.HandleFunc("POST /cart/clear", a.clearCart)
	mux.HandleFunc("POST /rotate", a.rotate)
	mux.HandleFunc("GET /session", a.inspect)
	return http.NewCrossOriginProtection().Handler(sessions.Handler(mux)), nil
}

func session(r *http.Request) *cookiesession.Session {
	s, _ := cookiesession.FromContext(r.Context())
	return s
}

// done ends a successful POST: it leaves a flash message for the next
// page, if the session still fits with it, and redirects home.
func (a *app) done(w http.ResponseWriter, r *http.Request, s *cookiesession.Session, text string) {
	if err := cookiesession.AddFlash(s, Flash{Kind: "ok", Text: text}); err == nil {
		if _, err := s.CookieSizes(); err != nil {
			// The change fits, but not with the message: drop the
			// message rather than the change.
			_, _ = cookiesession.Flashes[Flash](s)
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// fits reports whether the session, as changed, fits its cookies. If not,
// it calls undo, which puts the session back as it was, so the browser
// keeps its last good session, and answers with the home page saying why.
func (a *app) fits(w http.ResponseWriter, r *http.Request, s *cookiesession.Session, undo func(), what string) bool {
	_, err := s.CookieSizes()
	var tl *cookiesession.TooLargeError
	if !errors.As(err, &tl) {
		return err == nil
	}
	undo()
	var msg string
	switch tl.Setting {
	case "MaxChunks":
		msg = fmt.Sprintf("%s: the session would be too large: it would need %d cookies, and this server allows %d.", what, tl.Size, tl.Limit)
	default:
		msg = fmt.Sprintf("%s: the session would be too large: %d bytes, and the limit (%s) is %d.", what, tl.Size, tl.Setting, tl.Limit)
	}
	a.render(w, r, Flash{Kind: "error", Text: msg + " Remove some items from your cart."})
	return false
}

// badRequest answers the home page with an error message.
func (a *app) badRequest(w http.ResponseWriter, r *http.Request, text string) {
	w.WriteHeader(http.StatusBadRequest)
	a.render(w, r, Flash{Kind: "error", Text: text})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	name := strings.TrimSpace(r.FormValue("name"))
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		a.badRequest(w, r, "Please give a name of 1 to 64 characters.")
		return
	}
	// A new session ID at every privilege change defeats session fixation.
	if err := s.CycleKey(); err != nil {
		http.Error(w, "cannot renew session", http.StatusServiceUnavailable)
		return
	}
	if err := s.SetSubject(name); err != nil {
		a.badRequest(w, r, "Please give a name of 1 to 64 characters.")
		return
	}
	if err := s.Set("user", name); err != nil {
		a.badRequest(w, r, "That name cannot be stored.")
		return
	}
	undo := func() {
		s.Delete("user")
		_ = s.SetSubject("")
	}
	if a.fits(w, r, s, undo, "You cannot log in with this cart") {
		a.done(w, r, s, "Welcome, "+name+"!")
	}
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	if err := s.Flush(); err != nil {
		http.Error(w, "cannot end session", http.StatusServiceUnavailable)
		return
	}
	// The flushed session starts afresh, holding only this message.
	a.done(w, r, s, "You are logged out.")
}

func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	item := strings.TrimSpace(r.FormValue("item"))
	if item == "" || len(item) > 40 || !utf8.ValidString(item) {
		a.badRequest(w, r, "Items need a name of 1 to 40 characters.")
		return
	}
	count := 1
	if v := r.FormValue("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			a.badRequest(w, r, "Add 1 to 500 items at a time.")
			return
		}
		count = n
	}
	cart, had, err := cookiesession.Get[Cart](s, "cart")
	if err != nil {
		cart, had = Cart{}, false // a cart this version cannot read: start again
	}
	old := cart.Items
	for range count {
		cart.Items = append(cart.Items, item)
	}
	if err := s.Set("cart", cart); err != nil {
		a.fits(w, r, s, func() {}, "Cannot add "+item) // larger than any cookie
		return
	}
	undo := func() {
		if had {
			_ = s.Set("cart", Cart{Items: old})
		} else {
			s.Delete("cart")
		}
	}
	if a.fits(w, r, s, undo, "Cannot add "+item) {
		text := "Added " + item + " to your cart."
		if count > 1 {
			text = fmt.Sprintf("Added %d × %s to your cart.", count, item)
		}
		a.done(w, r, s, text)
	}
}

func (a *app) clearCart(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	s.Delete("cart")
	a.done(w, r, s, "Your cart is empty.")
}

// rotate makes a new key primary and keeps the old ones for opening: the
// staged procedure of package rotation, in one step. Demo only: a real
// application rotates keys from its deployment (docs/KEYS.md), not from a
// button any visitor can press; and in one step only because this is a
// single process, with no other instance that must learn the new key
// before it seals anything.
func (a *app) rotate(w http.ResponseWriter, r *http.Request) {
	k, err := crypto.GenerateKey()
	if err != nil {
		http.Error(w, "cannot make a key", http.StatusInternalServerError)
		return
	}
	now := a.now()
	err = a.keys.Update(func(ring *rotation.Keyring) (*rotation.Keyring, error) {
		ring, err := ring.Add(k, now)
		if err != nil {
			return nil, err
		}
		return ring.Promote(k.ID(), now)
	})
	if err != nil {
		a.logger.Error("rotate", "error", err)
		a.badRequest(w, r, "The key could not be rotated (the keyring is full?): "+err.Error())
		return
	}
	a.done(w, r, session(r), "Key "+k.ID().String()+" now seals new cookies; your session stays valid and is re-sealed under it.")
}

type homeData struct {
	User    string
	Cart    Cart
	Notices []Flash
}

func (a *app) home(w http.ResponseWriter, r *http.Request) { a.render(w, r) }

// render answers the home page, with the given messages before the
// session's own.
func (a *app) render(w http.ResponseWriter, r *http.Request, notices ...Flash) {
	s := session(r)
	d := homeData{Notices: notices}
	if err := s.Err(); err != nil {
		d.Notices = append(d.Notices, Flash{Kind: "error", Text: rejected(err)})
	}
	d.User, _, _ = cookiesession.Get[string](s, "user")
	if cart, _, err := cookiesession.Get[Cart](s, "cart"); err == nil {
		d.Cart = cart
	}
	if len(notices) == 0 {
		flashes, _ := cookiesession.Flashes[Flash](s)
		d.Notices = append(d.Notices, flashes...)
	}
	execute(w, homeTmpl, d)
}

// rejected says, in a user's words, why the cookie the browser sent did
// not become a session: only the class of reason, never the details.
func rejected(err error) string {
	switch {
	case errors.Is(err, cookiesession.ErrExpired):
		return "Your session expired. Please log in again."
	case errors.Is(err, cookiesession.ErrRevoked):
		return "This session was ended (you logged out). Please log in again."
	case crypto.ReasonOf(err) == crypto.ReasonUnknownKey:
		return "Your session was sealed with a key this server does not have (it restarted with a new key). Please log in again."
	default:
		return "Your session cookie could not be read, so you have a new session."
	}
}

type inspectData struct {
	Empty      bool
	Info       cookiesession.Info
	KeyID      string
	Primary    string
	User       string
	Cart       Cart
	Other      []string
	Issued     string
	Saved      string
	Expires    string
	IfSaved    string
	Sizes      []int
	SizeTotal  int
	SizeError  string
	Limits     limits
	CookieName string
}

func (a *app) inspect(w http.ResponseWriter, r *http.Request) {
	s := session(r)
	now := a.now()
	info := s.Info()
	d := inspectData{
		Empty:      s.IsEmpty(),
		Info:       info,
		Primary:    a.keys.At(now).Primary().ID().String(),
		Issued:     when(info.IssuedAt, now),
		Saved:      when(info.SavedAt, now),
		Expires:    when(info.Expires, now),
		Limits:     a.limits,
		CookieName: a.sessions.Name(),
	}
	if info.KeyID != (crypto.KeyID{}) {
		d.KeyID = info.KeyID.String()
	}
	d.User, _, _ = cookiesession.Get[string](s, "user")
	d.Cart, _, _ = cookiesession.Get[Cart](s, "cart")
	for _, k := range s.Keys() {
		if k != "user" && k != "cart" {
			d.Other = append(d.Other, k)
		}
	}
	if !d.Empty {
		d.IfSaved = when(s.ExpiryDate(), now)
	}
	var err error
	if d.Sizes, err = s.CookieSizes(); err != nil {
		d.SizeError = err.Error()
	}
	for _, n := range d.Sizes {
		d.SizeTotal += n
	}
	execute(w, inspectTmpl, d)
}

// when formats t for a person: the UTC time and how far it is from now.
func when(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now).Round(time.Second)
	rel := "in " + d.String()
	if d < 0 {
		rel = (-d).String() + " ago"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + " (" + rel + ")"
}

func execute(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An error here means the client went away mid-response; the status
	// is already out, so there is nothing better to do than stop.
	_ = t.Execute(w, data)
}

const layout = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>crumb example</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
.ok{background:#e6f4ea;padding:.5rem}.error{background:#fce8e6;padding:.5rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}form{margin:.5rem 0}dt{font-weight:bold}</style></head><body>
<h1><a href="/">crumb</a> example</h1>{{template "body" .}}</body></html>`

var homeTmpl = template.Must(template.Must(template.New("home").Parse(layout)).Parse(`{{define "body"}}
{{range $i, $n := .Notices}}<p class="{{$n.Kind}}"{{if eq $i 0}} id="notice"{{end}}>{{$n.Text}}</p>{{end}}
<p>This server stores nothing about you. Your whole session (who you are, your cart, the messages
below) lives in one cookie, encrypted and signed with a key only the server has, with its expiry
sealed inside. Things to try: add items until the cart no longer fits in a cookie; restart the
server (with a throwaway key you are logged out; with <code>CRUMB_KEYS</code> you are not);
rotate the key below and stay logged in; start it with <code>-lifetime 1m</code> and wait.</p>
{{if .User}}
<p>Logged in as <strong id="user">{{.User}}</strong>.</p>
<form id="logout" method="post" action="/logout"><button>Log out</button></form>
{{else}}
<form id="login" method="post" action="/login"><label>Name <input name="name" required maxlength="64"></label> <button>Log in</button></form>
{{end}}
<h2>Cart (<span id="cart-count">{{len .Cart.Items}}</span> items)</h2>
{{if .Cart.Items}}<ul id="cart">{{range .Cart.Items}}<li>{{.}}</li>{{end}}</ul>{{else}}<p id="cart-empty"><em>Your cart is empty.</em></p>{{end}}
<form id="add" method="post" action="/cart"><input name="item" required maxlength="40" placeholder="an item">
× <input name="count" type="number" min="1" max="500" value="1"> <button>Add</button></form>
<form id="clear" method="post" action="/cart/clear"><button>Empty cart</button></form>
<form id="rotate" method="post" action="/rotate"><button>Rotate the key</button> (a new key seals cookies from now on; old cookies still open)</form>
<p><a id="inspect" href="/session">What is in my session, and how large is its cookie?</a></p>
{{end}}`))

var inspectTmpl = template.Must(template.Must(template.New("inspect").Parse(layout)).Parse(`{{define "body"}}
<h2>Your session</h2>
{{if .Empty}}<p>The session is empty: your browser holds no session cookie.</p>{{end}}
<dl>
<dt>Who</dt><dd id="subject">{{.Info.Subject}}</dd>
<dt>Session ID</dt><dd><code>{{.Info.ID}}</code> (random, sealed inside the cookie)</dd>
<dt>Issued</dt><dd id="issued">{{.Issued}}</dd>
<dt>Last saved</dt><dd id="saved">{{.Saved}}</dd>
<dt>Valid until</dt><dd id="expires">{{.Expires}}</dd>
{{if .IfSaved}}<dt>If saved now, valid until</dt><dd>{{.IfSaved}}</dd>{{end}}
<dt>Sealed with key</dt><dd><code id="keyid">{{.KeyID}}</code>; the server seals new cookies with <code id="primary">{{.Primary}}</code></dd>
</dl>
<h3>Data</h3>
<dl id="data">
<dt>user</dt><dd>{{if .User}}{{.User}}{{else}}<em>not logged in</em>{{end}}</dd>
<dt>cart</dt><dd>{{if .Cart.Items}}{{len .Cart.Items}} items: {{range $i, $it := .Cart.Items}}{{if $i}}, {{end}}{{$it}}{{end}}{{else}}<em>empty</em>{{end}}</dd>
{{range .Other}}<dt>{{.}}</dt><dd><em>a value this page does not know how to show</em></dd>{{end}}
</dl>
<h3>Cookie size</h3>
<div id="sizes">
<p>Saved now, the session would take <span id="chunks">{{len .Sizes}}</span> cookie(s):
<span id="size-total">{{.SizeTotal}}</span> bytes of <code>Set-Cookie</code> in all
({{range $i, $n := .Sizes}}{{if $i}}, {{end}}{{$n}}{{end}}), name, value and attributes counted.
Each cookie may take <span id="limit">{{.Limits.MaxCookieSize}}</span> bytes; a session may span
<span id="max-chunks">{{.Limits.MaxChunks}}</span> cookie(s) and <span id="header-budget">{{.Limits.MaxHeaderBytes}}</span>
bytes of a request's <code>Cookie</code> header.</p>
{{if .SizeError}}<p class="error">{{.SizeError}}</p>{{end}}
</div>
<p><a href="/">Back</a></p>
{{end}}`))
