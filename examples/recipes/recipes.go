// Package recipes holds the code of docs/RECIPES.md: each recipe between
// "// recipe: <name>" and "// end recipe" is quoted there word for word
// (a test checks it) and run by the tests of this package.
package recipes

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/crumbhq/crumb/cookiesession"
	"github.com/crumbhq/crumb/rotation"
)

// checkPassword stands for the application's own check.
func checkPassword(user, password string) bool { return password == "secret-of-"+user }

// recipe: login
// Login starts a fresh session ID for the user: CycleKey defeats session
// fixation (an ID planted before login is not the one after), and the
// subject lets a Revoker end all of the user's sessions.
func Login(w http.ResponseWriter, r *http.Request) {
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if !checkPassword(user, password) {
		http.Error(w, "wrong user or password", http.StatusUnauthorized)
		return
	}
	s, _ := cookiesession.FromContext(r.Context())
	if err := s.CycleKey(); err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	if err := s.SetSubject(user); err != nil {
		http.Error(w, "bad user name", http.StatusBadRequest)
		return
	}
	if err := s.Set("user", user); err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// end recipe

// recipe: logout
// NewSessions gives the Manager a Revoker, so that Flush at logout denies
// the session's ID for as long as any copy of its cookie could be
// accepted: a copy kept by an attacker stops working too. DenyList holds
// the IDs in this process; several instances share a Revoker over a
// shared store instead.
func NewSessions(keys rotation.Source) (*cookiesession.Manager, *cookiesession.DenyList, error) {
	deny := &cookiesession.DenyList{}
	sessions, err := cookiesession.New(cookiesession.Config{Keys: keys, Revoker: deny})
	return sessions, deny, err
}

// Logout ends the session: the response deletes the cookie, and the
// Revoker refuses any copy of it.
func Logout(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	if err := s.Flush(); err != nil {
		// The cookie is deleted, but copies may still work: say so.
		http.Error(w, "logged out here; the server could not record it", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// end recipe

// recipe: remember-me
// RememberMe keeps a user logged in for 30 days of inactivity when they
// ask for it, and until the browser closes otherwise. The server enforces
// either rule from the sealed cookie, whatever the browser does.
func RememberMe(s *cookiesession.Session, remember bool) {
	if remember {
		s.SetExpiry(cookiesession.IdleFor(30 * 24 * time.Hour))
	} else {
		s.SetExpiry(cookiesession.BrowserClose)
	}
}

// end recipe

// recipe: flash
// Saved queues a message and redirects; Page shows it once, on the page
// after the redirect.
func Saved(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	if err := cookiesession.AddFlash(s, "Saved!"); err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/page", http.StatusSeeOther)
}

func Page(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	messages, err := cookiesession.Flashes[string](s)
	if err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	for _, m := range messages {
		fmt.Fprintln(w, m)
	}
}

// end recipe

// recipe: csrf
// Protect refuses cross-site form posts before any handler runs: Go's
// http.CrossOriginProtection checks the browser's Sec-Fetch-Site and
// Origin headers. SameSite=Lax, crumb's default, already keeps the session
// cookie off cross-site POSTs; this refuses the request itself.
func Protect(sessions *cookiesession.Manager, mux http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(sessions.Handler(mux))
}

// end recipe

// recipe: too-large
// AddToCart refuses an item that would make the session too large for its
// cookie, before it answers, and says so; the cart stays as it was.
func AddToCart(w http.ResponseWriter, r *http.Request) {
	s, _ := cookiesession.FromContext(r.Context())
	cart, _, err := cookiesession.Get[[]string](s, "cart")
	if err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	if err := s.Set("cart", append(cart, r.PostFormValue("item"))); err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	var tooLarge *cookiesession.TooLargeError
	if _, err := s.CookieSizes(); errors.As(err, &tooLarge) {
		if err := s.Set("cart", cart); err != nil { // undo
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		http.Error(w, "your cart is full", http.StatusRequestEntityTooLarge)
		return
	}
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

// end recipe

// recipe: two-cookies
// TwoCookies keeps a short-lived admin session beside the user's session:
// two Managers with their own cookie names and lifetimes. Wrap the routes
// with both Handlers, and read each session with its Manager's
// FromContext.
func TwoCookies(keys rotation.Source) (users, admins *cookiesession.Manager, err error) {
	users, err = cookiesession.New(cookiesession.Config{Keys: keys, Name: "session"})
	if err != nil {
		return nil, nil, err
	}
	admins, err = cookiesession.New(cookiesession.Config{Keys: keys, Name: "admin", Lifetime: 15 * time.Minute})
	return users, admins, err
}

// AdminLogin starts admin mode for a logged-in user.
func AdminLogin(users, admins *cookiesession.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _ := users.FromContext(r.Context())
		admin, _ := admins.FromContext(r.Context())
		name, _, err := cookiesession.Get[string](user, "user")
		if err != nil || name == "" {
			http.Error(w, "log in first", http.StatusForbidden)
			return
		}
		if err := admin.Set("admin", name); err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "admin mode for 15 minutes")
	}
}

// end recipe
