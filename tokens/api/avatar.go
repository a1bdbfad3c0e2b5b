package api

import (
	"fmt"
	"hash/fnv"
	"html"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/depot/depot/auth"
)

// AvatarURL is the address of name's avatar as served by this server,
// as the client reaches it (through a trusted proxy, perhaps).
func AvatarURL(r *http.Request, name string) string {
	c := auth.ClientOf(r)
	return c.Scheme + "://" + c.Host + "/avatars/" + name
}

// avatar draws a user's default avatar: the first letter of the name on a
// colour derived from it. It depends on the name only, so it reveals
// nothing about which users exist.
func avatar(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["user"]
	letter, _ := utf8.DecodeRuneInString(name)
	if letter == utf8.RuneError || !unicode.IsPrint(letter) {
		letter = '?'
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	hue := h.Sum32() % 360
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">`+
		`<rect width="120" height="120" fill="hsl(%d,55%%,45%%)"/>`+
		`<text x="60" y="80" font-family="sans-serif" font-size="60" text-anchor="middle" fill="#fff">%s</text></svg>`,
		hue, html.EscapeString(strings.ToUpper(string(letter))))
}

// Avatars serves /avatars/{user} to anyone, as forges serve avatars: the
// image depends on the name only, and a page or a client with stale
// credentials must still show it. It goes among the server's public
// surfaces, outside authentication.
type Avatars struct{}

// Register adds the avatar route to r.
func (Avatars) Register(r *mux.Router) {
	r.HandleFunc("/avatars/{user}", avatar).Methods(http.MethodGet)
}
