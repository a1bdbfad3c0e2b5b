package browse_test

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/depot/depot/repos/browse"
)

// A /OWNER/NAME/tree/REF/PATH page: resolve, list, show the README. A
// handler answers ErrNotFound with 404, and ErrNotTree with a redirect
// to the blob page.
func Example_treePage() {
	r, err := browse.Open("/data/repos/tester/hello.git")
	if err != nil {
		return
	}
	defer r.Close()
	loc, err := r.Resolve("feature/x/src")
	if errors.Is(err, browse.ErrNotFound) {
		return // 404
	}
	entries, err := r.Tree(loc.Commit, loc.Path)
	if errors.Is(err, browse.ErrNotTree) {
		return // redirect to /tester/hello/blob/feature/x/src
	}
	for _, e := range entries {
		fmt.Println(e.Kind, e.Name, e.Size)
	}
	base := "/tester/hello/"
	readme, _ := r.Readme(loc.Commit, loc.Path, browse.Links{
		Tree: base + "tree/" + loc.Ref, Blob: base + "blob/" + loc.Ref, Raw: base + "raw/" + loc.Ref,
	})
	if readme != nil {
		fmt.Println(readme.HTML) // template.HTML: safe to put in a template as it is
	}
}

// A /OWNER/NAME/blob/REF/PATH page, and its /raw/ twin.
func Example_blobPage() {
	r, err := browse.Open("/data/repos/tester/hello.git")
	if err != nil {
		return
	}
	defer r.Close()
	loc, err := r.Resolve("main/src/main.go")
	if err != nil {
		return
	}
	b, err := r.Blob(loc.Commit, loc.Path)
	if err != nil {
		return
	}
	switch {
	case b.Binary, b.TooLarge:
		fmt.Println("notice, with a link to the raw file")
	default:
		html, _ := b.HTML() // Stylesheet styles it
		fmt.Println(b.Lines, len(html))
	}
	raw, err := r.Raw(loc.Commit, loc.Path)
	if err != nil {
		return
	}
	defer raw.Content.Close()
	// The handler sets Content-Type: raw.ContentType, Content-Length:
	// raw.Size, X-Content-Type-Options: nosniff and a sandboxing CSP.
	_, _ = io.Copy(os.Stdout, raw.Content)
}

// /OWNER/NAME/commits/REF?after=N and /OWNER/NAME/commit/SHA.
func Example_history() {
	r, err := browse.Open("/data/repos/tester/hello.git")
	if err != nil {
		return
	}
	defer r.Close()
	loc, err := r.Resolve("main")
	if err != nil {
		return
	}
	page, err := r.History(loc.Commit, loc.Path, 0, 50)
	if err != nil {
		return
	}
	for _, c := range page.Commits {
		fmt.Println(c.Short, c.Author.Name, c.Author.When, c.Subject)
	}
	if page.Next > 0 {
		fmt.Printf("next: ?after=%d\n", page.Next)
	}
	one, err := r.Resolve(page.Commits[0].ID.String()) // a SHA from the URL
	if err != nil {
		return
	}
	cd, err := r.Commit(one.Commit)
	if err != nil {
		return
	}
	for _, f := range cd.Files {
		fmt.Println(f.Status, f.Path, f.Adds, f.Dels, len(f.Hunks))
	}
}
