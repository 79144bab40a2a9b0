package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// fill adds 40-character items to the cart, in batches that halve each time
// the server refuses one, until it refuses a single item. It returns the
// number of items in the last good cart and the refusal's notice.
func fill(t *testing.T, ctx context.Context, srv *server, batch int) (count int, refusal string) {
	t.Helper()
	open(t, ctx, srv, "/")
	count = number(t, ctx, "#cart-count")
	for i := 0; batch >= 1; i++ {
		st, class, msg := addItems(t, ctx, item(i), batch)
		if st != 200 {
			t.Fatalf("adding %d items: page status %d", batch, st)
		}
		got := number(t, ctx, "#cart-count")
		switch class {
		case "ok", "":
			// Accepted (the confirmation is dropped when only the change
			// fits, so there may be no notice).
			if got != count+batch {
				t.Fatalf("after adding %d to %d items the cart holds %d", batch, count, got)
			}
			count = got
		case "error":
			if !strings.Contains(msg, "too large") {
				t.Fatalf("refused add says %q, want it to say the session is too large", msg)
			}
			// The refused change is undone: the page shows the last good cart.
			if got != count {
				t.Fatalf("after a refused add the page shows %d items, want the last good %d", got, count)
			}
			refusal = msg
			batch /= 2
		default:
			t.Fatalf("notice class %q: %q", class, msg)
		}
	}
	if refusal == "" {
		t.Fatal("the server never refused an item")
	}
	return count, refusal
}

// TestSessionAtTheLimit grows the cart in one cookie until the server
// refuses one more item: the last good session is just under the limit and
// round-trips; the refusal tells the user, and the browser keeps the last
// good session.
func TestSessionAtTheLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "carol")

	// The cost of one more item in the Set-Cookie line, measured.
	addItems(t, ctx, item(900), 1)
	before := inspect(t, ctx, srv)
	open(t, ctx, srv, "/")
	addItems(t, ctx, item(901), 1)
	after := inspect(t, ctx, srv)
	perItem := after.total - before.total
	if perItem < 40 {
		t.Fatalf("one 40-character item adds %d bytes to the cookie", perItem)
	}
	open(t, ctx, srv, "/")

	count, refusal := fill(t, ctx, srv, 64)
	t.Logf("the cart holds %d items of 40 characters in one cookie; refusal: %s", count, refusal)

	// The browser kept the last good session: reloads show it, in one
	// cookie, and its Set-Cookie is just under the limit (less than one
	// item short; base64's rounding and the list's length prefix may add
	// a few bytes to the next item).
	for range 2 {
		open(t, ctx, srv, "/")
		if got := number(t, ctx, "#cart-count"); got != count {
			t.Fatalf("after the refusal, a reload shows %d items, want %d", got, count)
		}
		if got := text(t, ctx, "#user"); got != "carol" {
			t.Fatalf("after the refusal #user = %q, want carol", got)
		}
	}
	sz := inspect(t, ctx, srv)
	if sz.chunks != 1 || sz.maxChunks != 1 {
		t.Fatalf("sizes %+v, want one cookie", sz)
	}
	if sz.total > sz.limit {
		t.Fatalf("the last good session takes %d bytes, over the limit %d", sz.total, sz.limit)
	}
	if gap := sz.limit - sz.total; gap >= perItem+4 {
		t.Errorf("the last good session is %d bytes under the limit, room for another item (%d bytes)", gap, perItem)
	}
	jar := cookies(t, ctx, srv)
	if got := names(jar); !slices.Equal(got, chunkNames(1)) {
		t.Errorf("the browser holds %v, want one cookie", got)
	}
	// The browser stored the whole value: name and value take what the
	// page's Set-Cookie size says, less the attributes.
	if n := len(jar[cookieName].Name) + len(jar[cookieName].Value); n > sz.total || n < sz.total-200 {
		t.Errorf("the browser's cookie has %d bytes of name and value; the Set-Cookie line has %d", n, sz.total)
	}
}

// TestChunkedSession lets the session span three cookies: a cart larger
// than one cookie round-trips, the browser stores every chunk with the
// session cookie's attributes, a chunk lost gives a fresh session, and
// shrinking the session removes the extra chunks.
func TestChunkedSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-chunks", "3", "-max-header-bytes", "12288")
	ctx := newBrowser(t, "")
	login(t, ctx, srv, "dave")

	// Grow the session past one cookie, then two.
	count := 0
	for want := 2; want <= 3; want++ {
		for i := 0; ; i++ {
			if i == 20 {
				t.Fatalf("the session never took %d cookies", want)
			}
			st, class, msg := addItems(t, ctx, item(100*want+i), 25)
			if st != 200 || class == "error" {
				t.Fatalf("adding items: status %d, notice %q %q", st, class, msg)
			}
			count += 25
			if sz := inspect(t, ctx, srv); sz.chunks == want {
				break
			}
			open(t, ctx, srv, "/")
		}
		jar := cookies(t, ctx, srv)
		if got := names(jar); !slices.Equal(got, chunkNames(want)) {
			t.Fatalf("at %d items the browser holds %v, want %v", count, got, chunkNames(want))
		}
		for _, name := range chunkNames(want) {
			c := jar[name]
			if !c.Secure || !c.HTTPOnly || c.SameSite != "Lax" || c.Path != "/" || c.Domain != "127.0.0.1" || c.Session {
				t.Errorf("%s stored with Secure=%v HttpOnly=%v SameSite=%q Path=%q Domain=%q Session=%v; want the session cookie's attributes",
					name, c.Secure, c.HTTPOnly, c.SameSite, c.Path, c.Domain, c.Session)
			}
		}
		// Round trip: the page reads back every item.
		open(t, ctx, srv, "/")
		if got := number(t, ctx, "#cart-count"); got != count {
			t.Fatalf("in %d cookies the cart reads back %d items, want %d", want, got, count)
		}
	}
	sz := inspect(t, ctx, srv)
	t.Logf("%d items of 40 characters in %d cookies, %d bytes of Set-Cookie", count, sz.chunks, sz.total)
	if sz.total > sz.headerBudget || sz.maxChunks != 3 {
		t.Errorf("sizes %+v: over the header budget, or not the configured 3 chunks", sz)
	}

	// Past three cookies the server refuses, and the browser keeps the
	// three it had.
	full, refusal := fill(t, ctx, srv, 64)
	if !strings.Contains(refusal, "too large") {
		t.Errorf("refusal %q", refusal)
	}
	open(t, ctx, srv, "/")
	if got := number(t, ctx, "#cart-count"); got != full {
		t.Fatalf("after the refusal the cart holds %d, want the last good %d", got, full)
	}
	if got := names(cookies(t, ctx, srv)); !slices.Equal(got, chunkNames(3)) {
		t.Fatalf("after the refusal the browser holds %v, want %v", got, chunkNames(3))
	}

	// Shrinking back to one cookie expires the two chunks.
	if st := submit(t, ctx, "clear", nil); st != 200 {
		t.Fatalf("emptying the cart: page status %d", st)
	}
	if !exists(t, ctx, "#cart-empty") {
		t.Fatal("the emptied cart is not empty")
	}
	if got := names(cookies(t, ctx, srv)); !slices.Equal(got, chunkNames(1)) {
		t.Fatalf("after emptying the cart the browser holds %v, want %v", got, chunkNames(1))
	}
	if got := text(t, ctx, "#user"); got != "dave" {
		t.Fatalf("after emptying the cart #user = %q", got)
	}

	// A lost chunk: grow to two cookies again, drop the second, and the
	// next page is a fresh session that says so, not an error page.
	for i := 0; len(names(cookies(t, ctx, srv))) < 2; i++ {
		if i == 10 {
			t.Fatal("the session never took two cookies again")
		}
		addItems(t, ctx, item(700+i), 25)
	}
	deleteCookie(t, ctx, srv, cookieName+".1")
	if st := open(t, ctx, srv, "/"); st != 200 {
		t.Fatalf("with a chunk missing GET / = %d, want the page", st)
	}
	if exists(t, ctx, "#user") || !exists(t, ctx, "#cart-empty") {
		t.Error("with a chunk missing the page still shows the session")
	}
	if class, msg := notice(t, ctx); class != "error" || !strings.Contains(msg, "could not be read") {
		t.Errorf("with a chunk missing the notice is %q %q, want an error saying the session could not be read", class, msg)
	}
}
