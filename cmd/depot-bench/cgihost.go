package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
)

// cgiHostMode is the hidden first argument with which the benchmark
// re-executes itself as the C git server: a process of its own, so that its
// CPU time (and that of the http-backend, upload-pack and pack-objects
// children it waits for) is measured apart from the git clients.
const cgiHostMode = "cgi-host"

// inflightPath answers the number of git requests still being served, so
// that the benchmark reads the CPU time only once every child was reaped.
const inflightPath = "/_bench/inflight"

// cgiHostMain serves `git http-backend` over net/http/cgi for the
// repositories under --root, behind HTTP Basic authentication like depot,
// and returns the exit status. It prints "cgi-host listening addr=ADDR" on
// stderr once it accepts connections.
func cgiHostMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(cgiHostMode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	root := fs.String("root", "", "GIT_PROJECT_ROOT")
	user := fs.String("user", "bench", "Basic auth user name")
	home := fs.String("home", "", "HOME of git http-backend, an empty directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The password comes from the environment, not the command line that
	// every process on the machine can read.
	password := os.Getenv("DEPOT_BENCH_CGI_PASSWORD")
	if *root == "" || *home == "" || password == "" {
		fmt.Fprintln(stderr, "cgi-host: --root, --home and DEPOT_BENCH_CGI_PASSWORD are required")
		return 2
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		fmt.Fprintf(stderr, "cgi-host: %v\n", err)
		return 1
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + *root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + *user,
			"HOME=" + *home,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_COUNT=3",
			"GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=uploadpack.allowFilter", "GIT_CONFIG_VALUE_1=true",
			"GIT_CONFIG_KEY_2=uploadpack.allowAnySHA1InWant", "GIT_CONFIG_VALUE_2=true",
		},
		Stderr: stderr,
	}
	var inflight atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+inflightPath, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.FormatInt(inflight.Load(), 10))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(*user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="cgi-host"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		inflight.Add(1)
		defer inflight.Add(-1)
		h.ServeHTTP(w, r) // returns after the CGI process was waited for
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "cgi-host: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "cgi-host listening addr=%s\n", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintf(stderr, "cgi-host: %v\n", err)
		return 1
	}
	return 0
}
