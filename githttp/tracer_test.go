package githttp_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// traceLimit bounds what the tracer keeps of each body.
const traceLimit = 16 << 10

// tracer is a reverse proxy in front of the test server that records every
// HTTP exchange, so that a failing client shows what went over the wire.
// It logs the trace when the test fails.
type tracer struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []exchange
}

type exchange struct {
	method, url, reqHeader string
	user                   string // of Basic authentication
	status                 int
	respHeader             string
	req, resp              capture
}

func newTracer(t *testing.T, e *env) *tracer {
	t.Helper()
	target, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	tr := &tracer{}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := exchange{method: r.Method, url: r.URL.RequestURI(), reqHeader: headers(r.Header,
			"Git-Protocol", "Content-Type", "Content-Encoding", "User-Agent")}
		if user, _, ok := r.BasicAuth(); ok {
			x.user = user
			x.reqHeader += " auth=basic:" + user
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, &x.req), r.Body}
		rec := &recorder{ResponseWriter: w, body: &x.resp}
		proxy.ServeHTTP(rec, r)
		x.status = rec.status
		x.respHeader = headers(w.Header(), "Content-Type", "WWW-Authenticate")
		if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
			x.req.gunzip()
		}
		tr.mu.Lock()
		tr.log = append(tr.log, x)
		tr.mu.Unlock()
	}))
	t.Cleanup(func() {
		tr.srv.Close()
		if t.Failed() {
			t.Logf("HTTP exchanges:\n%s", tr)
		}
	})
	return tr
}

// url is the URL of path through the tracer, with user:secret in it ("" for
// none).
func (tr *tracer) url(user, secret, path string) string {
	u, _ := url.Parse(tr.srv.URL + "/" + path)
	if user != "" {
		u.User = url.UserPassword(user, secret)
	}
	return u.String()
}

// refused reports whether the server answered 401 to a request with
// user's credentials.
func (tr *tracer) refused(user string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, x := range tr.log {
		if x.user == user && x.status == http.StatusUnauthorized {
			return true
		}
	}
	return false
}

func (tr *tracer) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var b strings.Builder
	for i, x := range tr.log {
		fmt.Fprintf(&b, "#%d > %s %s%s\n", i, x.method, x.url, x.reqHeader)
		b.WriteString(x.req.String("    > "))
		fmt.Fprintf(&b, "#%d < %d%s\n", i, x.status, x.respHeader)
		b.WriteString(x.resp.String("    < "))
	}
	return b.String()
}

func headers(h http.Header, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		if v := h.Get(n); v != "" {
			fmt.Fprintf(&b, " %s=%q", n, v)
		}
	}
	return b.String()
}

// recorder captures the status and body of a response on their way out.
type recorder struct {
	http.ResponseWriter
	status int
	body   *capture
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// capture keeps the first traceLimit bytes of a body and counts the rest.
type capture struct {
	b []byte
	n int
}

func (c *capture) Write(p []byte) (int, error) {
	c.n += len(p)
	if room := traceLimit - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capture) gunzip() {
	zr, err := gzip.NewReader(bytes.NewReader(c.b))
	if err != nil {
		return
	}
	b, _ := io.ReadAll(zr)
	if len(b) > 0 {
		c.b, c.n = b, len(b)
	}
}

// String renders the body as pkt-lines (gitprotocol-common(5)): text
// quoted, side-band pack data and raw packs as byte counts.
func (c *capture) String(prefix string) string {
	var b strings.Builder
	p := c.b
	for len(p) > 0 {
		n, err := strconv.ParseUint(string(p[:min(4, len(p))]), 16, 16)
		switch {
		case err != nil || len(p) < 4 || n == 3 || int(n) > len(p):
			fmt.Fprintf(&b, "%s[%d raw bytes %q...]\n", prefix, len(p), p[:min(len(p), 16)])
			p = nil
			continue
		case n < 4:
			fmt.Fprintf(&b, "%s%s\n", prefix, []string{"flush-pkt", "delim-pkt", "response-end-pkt"}[n])
			p = p[4:]
			continue
		}
		line := p[4:n]
		p = p[n:]
		if len(line) > 0 && line[0] == 1 && bytes.ContainsAny(line, "\x00\xff") {
			fmt.Fprintf(&b, "%s[band 1: %d bytes]\n", prefix, len(line)-1)
			continue
		}
		fmt.Fprintf(&b, "%s%q\n", prefix, line[:min(len(line), 200)])
	}
	if c.n > len(c.b) {
		fmt.Fprintf(&b, "%s[%d more bytes]\n", prefix, c.n-len(c.b))
	}
	return b.String()
}
