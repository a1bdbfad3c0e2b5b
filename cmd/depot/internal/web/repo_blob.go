package web

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/depot/depot/auth/apierr"

	"github.com/depot/depot/repos/browse"
)

// blobData is a file's page.
type blobData struct {
	*repoView
	Path, FileName string
	Size           string
	Lines          int
	Binary         bool
	TooLarge       bool
	Image          bool // shown as a picture from its raw URL
	Markdown       bool // a Markdown file: rendered unless ?plain=1
	Rendered       bool // the page shows it rendered
	HTML           template.HTML
	RawURL         string
	HistoryURL     string
	PlainURL       string // the source of a Markdown file
	RenderURL      string // its rendering
}

// images are the extensions shown as pictures: the types browse.ContentType
// keeps for raw files (SVG is not among them: it can carry script).
var images = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".bmp": true, ".ico": true}

// blobPage is /OWNER/NAME/blob/REF/PATH; a path that names a directory
// leads to its tree page.
func (s *Server) blobPage(w http.ResponseWriter, r *http.Request) error {
	rq, loc, err := s.openAt(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	if loc.Path == "" {
		http.Redirect(w, r, rq.link("tree", loc.Ref, ""), http.StatusSeeOther)
		return nil
	}
	b, err := rq.br.Blob(loc.Commit, loc.Path)
	if errors.Is(err, browse.ErrNotBlob) {
		http.Redirect(w, r, rq.link("tree", loc.Ref, loc.Path), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return browseErr(err)
	}
	d := &blobData{repoView: rq.view(r, "code"), Path: b.Path, FileName: b.Name, Size: humanSize(b.Size), Lines: b.Lines,
		Binary: b.Binary, TooLarge: b.TooLarge, Image: images[strings.ToLower(path.Ext(b.Name))],
		RawURL: rq.link("raw", loc.Ref, loc.Path), HistoryURL: rq.link("commits", loc.Ref, loc.Path)}
	if err := d.at(rq, loc, "blob"); err != nil {
		return err
	}
	d.Markdown = b.Content != nil && browse.IsMarkdown(b.Name)
	if d.Markdown {
		d.PlainURL = rq.link("blob", loc.Ref, loc.Path) + "?plain=1"
		d.RenderURL = rq.link("blob", loc.Ref, loc.Path)
	}
	switch {
	case d.Markdown && r.URL.Query().Get("plain") != "1":
		d.Rendered = true
		d.HTML, err = rq.br.Markdown(loc.Commit, loc.Path, b.Content, browse.Links{
			Tree: rq.base + "/tree/" + loc.Ref, Blob: rq.base + "/blob/" + loc.Ref, Raw: rq.base + "/raw/" + loc.Ref,
		})
	default:
		d.HTML, err = b.HTML()
	}
	if err != nil {
		return err
	}
	p := newPage(r, "", "repo", d)
	p.Title = loc.Path + " · " + rq.repo.FullName()
	return s.render(w, http.StatusOK, "repo_blob", p)
}

// rawFile is /OWNER/NAME/raw/REF/PATH: the file's bytes, under a type
// that no browser renders as a page (browse.ContentType: never HTML or
// SVG), not sniffed, and sandboxed should a browser render it anyway, so
// that a file of the repository never runs script on depot's origin.
func (s *Server) rawFile(w http.ResponseWriter, r *http.Request) error {
	rq, loc, err := s.openAt(w, r)
	if rq == nil {
		return err
	}
	defer rq.close()
	raw, err := rq.br.Raw(loc.Commit, loc.Path)
	if errors.Is(err, browse.ErrNotBlob) {
		return notFound
	}
	if err != nil {
		return browseErr(err)
	}
	defer raw.Content.Close()
	h := w.Header()
	h.Set("Content-Type", raw.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !strings.HasPrefix(raw.ContentType, "image/") && !strings.HasPrefix(raw.ContentType, "text/") {
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(path.Base(loc.Path)))
	}
	// A blob stored whole streams from its pack and cannot seek: it goes
	// out whole, without ranges.
	if rs, ok := raw.Content.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", time.Time{}, rs)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(raw.Size, 10))
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, raw.Content); err != nil {
		// The status is sent: all that is left is to stop.
		s.log.WithField("request_id", apierr.RequestID(r.Context())).WithError(err).Warn("raw download cut short")
	}
	return nil
}
