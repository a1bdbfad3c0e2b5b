package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/depot/depot/auth/apierr"
	"github.com/depot/depot/repos/browse"
	"github.com/depot/depot/tokens"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates that render a whole page, each inside
// layout.html.
var pageNames = []string{"login", "home", "profile", "tokens", "token_form", "confirm", "error",
	"namespace", "repo_form", "project_form"}

// repoPageNames are the repository browser's pages, which share the
// header of repo_parts.html.
var repoPageNames = []string{"repo_tree", "repo_blob", "repo_commits", "repo_commit"}

var pages = parsePages()

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"browser": browserOf,
		// minPassword is the shortest new password (tokens.CheckNewPassword).
		"minPassword": func() int { return tokens.MinPasswordLen },
		"inc":         func(i int) int { return i + 1 },
		// lineClass names a diff line's kind for the stylesheet.
		"lineClass": func(k browse.LineKind) string {
			switch k {
			case browse.LineAdded:
				return "add"
			case browse.LineDeleted:
				return "del"
			}
			return "ctx"
		},
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := make(map[string]*template.Template, len(pageNames)+len(repoPageNames))
	for _, name := range pageNames {
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	for _, name := range repoPageNames {
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/repo_parts.html", "templates/"+name+".html"))
	}
	return out
}

// page is what every template gets: the visitor's language and account,
// the CSRF token for its forms, and the page's own data.
type page struct {
	Title  string
	Nav    string // the navigation entry to mark: "repos", "profile", "tokens"
	User   *tokens.User
	CSRF   string
	Lang   string // BCP 47 tag of the page
	Other  string // tag of the language the switch offers
	Path   string // the page's own path, for the switch
	Notice string // a message shown once, already translated
	Bad    bool   // the notice reports a mistake
	Data   any

	lang lang
}

// T translates key for the page; templates call {{$.T "key"}}.
func (p *page) T(key string, args ...any) string { return p.lang.t(key, args...) }

// newPage starts the data of a page for r's visitor.
func newPage(r *http.Request, titleKey, nav string, data any) *page {
	v := visitorOf(r)
	other := langZH
	if v.lang == langZH {
		other = langEN
	}
	p := &page{Nav: nav, User: v.user, CSRF: v.csrf(), Lang: v.lang.tag(), Other: other.tag(),
		Path: r.URL.Path, Data: data, lang: v.lang}
	p.Title = p.T(titleKey)
	return p
}

// render writes the page name with status. It renders into a buffer
// first, so that a template failure becomes a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// fail answers err as a page: its status from apierr's kinds, its text
// from the message catalogue. An internal error is logged with the
// request id, and the page shows only the id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := apierr.KindOf(err)
	status := kind.Status()
	rid := apierr.RequestID(r.Context())
	if kind == apierr.Internal || kind == apierr.Unavailable {
		s.log.WithField("request_id", rid).WithError(err).Error("web page failed")
	}
	if kind == apierr.TooManyRequests {
		var e *apierr.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
		}
	}
	p := newPage(r, "error.title", "", nil)
	switch status {
	case 400, 403, 404, 429, 503:
		p.Data = p.T(fmt.Sprintf("error.%d", status))
	default:
		status = http.StatusInternalServerError
		p.Data = p.T("error.500", rid)
	}
	if err := s.render(w, status, "error", p); err != nil {
		s.log.WithField("request_id", rid).WithError(err).Error("render error page")
		http.Error(w, http.StatusText(status), status)
	}
}

// staticHandler serves the embedded CSS and JavaScript. They change only
// with depot itself, so browsers may keep them for a day.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.FileServer(http.FS(sub))
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
}

// repoStylesheet serves the repository browser's stylesheet: static/repo.css
// followed by the highlighter's classes (browse.Stylesheet), one file,
// since the pages' Content-Security-Policy admits no inline style.
func repoStylesheet() http.Handler {
	own, err := staticFS.ReadFile("static/repo.css")
	if err != nil {
		panic(err) // the embed pattern guarantees the file
	}
	css := string(own) + "\n/* Syntax highlighting, from repos/browse.Stylesheet */\n" + browse.Stylesheet
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "repo.css", time.Time{}, strings.NewReader(css))
	})
}
