package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a new self-signed certificate for 127.0.0.1, named
// cn, and its key to certFile and keyFile, each replaced in one rename as
// a deployment tool would.
func writeCert(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func replaceFile(t *testing.T, name string, b []byte) {
	t.Helper()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// tlsClient is a client of its own connections that trusts any
// certificate, as GIT_SSL_NO_VERIFY does.
func tlsClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// getOver sends GET url with c and returns the answer, the name of the
// certificate that the connection presented, and whether it was a
// connection already open.
func getOver(t *testing.T, c *http.Client, url string) (*http.Response, string, bool) {
	t.Helper()
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequest("GET", url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		t.Fatalf("GET %s answered without TLS", url)
	}
	return res, res.TLS.PeerCertificates[0].Subject.CommonName, reused
}

// TestHTTPS serves over TLS with --tls-cert and --tls-key, clones and
// pushes with git over https, then replaces the certificate and sends
// SIGHUP: new connections get the new certificate, a connection that was
// open keeps working, and a broken pair is refused while the last good
// one stays.
func TestHTTPS(t *testing.T) {
	data, certs := t.TempDir(), t.TempDir()
	certFile, keyFile := filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem")
	writeCert(t, "depot-one", certFile, keyFile)

	if _, errOut, code := runInProcess(t, "tester-password\n", "user", "add", "tester", "--password-stdin", "--data", data); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := runInProcess(t, "", "token", "create", "--user", "tester", "--scopes", "project:depot", "--data", data)
	if code != 0 {
		t.Fatal(errOut)
	}
	secret := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if _, errOut, code := runInProcess(t, "", "repo", "create", "tester/hello", "--data", data); code != 0 {
		t.Fatal(errOut)
	}

	s := startServerFlags(t, data, []string{"--tls-cert", certFile, "--tls-key", keyFile})
	base := strings.Replace(s.url, "http://", "https://", 1)
	if !strings.Contains(s.stderr.String(), "tls=true") {
		t.Errorf("the listening line does not say TLS:\n%s", s.stderr)
	}

	// Plain HTTP on the TLS port is refused, not served in the clear.
	if res, err := http.Get(s.url + "/login"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port = %d; want 400", res.StatusCode)
		}
	}

	kept := tlsClient()
	res, name, _ := getOver(t, kept, base+"/login")
	if res.StatusCode != 200 || name != "depot-one" {
		t.Fatalf("GET /login over TLS = %d from %q; want 200 from depot-one", res.StatusCode, name)
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q; want max-age=31536000", h)
	}

	// git over https: push, then clone what was pushed.
	remote := strings.Replace(base, "https://", "https://tester:"+secret+"@", 1) + "/tester/hello.git"
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := gitCommand(t, args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, "GIT_SSL_NO_VERIFY=1", "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git(work, "init", "-q", "-b", "main", "src")
	if err := os.WriteFile(filepath.Join(work, "src", "README"), []byte("over TLS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(filepath.Join(work, "src"), "add", "README")
	git(filepath.Join(work, "src"), "commit", "-q", "-m", "first")
	git(filepath.Join(work, "src"), "push", "-q", remote, "main")
	git(work, "clone", "-q", remote, "one")

	// A new pair, and SIGHUP.
	writeCert(t, "depot-two", certFile, keyFile)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "reloaded the TLS certificate", 1)
	if _, name, _ := getOver(t, tlsClient(), base+"/login"); name != "depot-two" {
		t.Errorf("a new connection after SIGHUP sees %q; want depot-two", name)
	}
	res, name, reused := getOver(t, kept, base+"/login")
	if res.StatusCode != 200 || !reused || name != "depot-one" {
		t.Errorf("the connection open before SIGHUP: %d, reused %v, certificate %q; want 200 on the same connection, depot-one", res.StatusCode, reused, name)
	}
	git(work, "clone", "-q", remote, "two")
	if b, err := os.ReadFile(filepath.Join(work, "two", "README")); err != nil || string(b) != "over TLS\n" {
		t.Errorf("clone after the reload: README = %q, %v", b, err)
	}

	// A broken pair is refused and the last good one stays.
	replaceFile(t, certFile, []byte("not a certificate"))
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "kept the previous certificate", 1)
	if _, name, _ := getOver(t, tlsClient(), base+"/login"); name != "depot-two" {
		t.Errorf("after a broken pair, a new connection sees %q; want depot-two still", name)
	}
	if s.cmd.ProcessState != nil {
		t.Fatal("the server exited")
	}
}

// waitLog waits until the server has logged text n times.
func waitLog(t *testing.T, s *liveServer, text string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(s.stderr.String(), text) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log %q:\n%s", text, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSFlags: the two flags go together, and a pair that does not load
// stops the server from starting, saying why.
func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		want  string
	}{
		{"CertOnly", []string{"--tls-cert", bad}, 2, "--tls-cert and --tls-key go together"},
		{"Junk", []string{"--tls-cert", bad, "--tls-key", bad}, 1, "tls: load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := cli(t, "", append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, tc.flags...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("depot serve %s = %d %q; want %d and %q", strings.Join(tc.flags, " "), code, errOut, tc.code, tc.want)
			}
		})
	}
}

// TestHangupWithoutTLS sends SIGHUP to a server that serves plain HTTP:
// there is nothing to reload, and it goes on serving rather than ending
// (Go's default for SIGHUP), as a log rotation or a service manager's
// reload sends it by habit.
func TestHangupWithoutTLS(t *testing.T) {
	s := startServer(t, t.TempDir())
	for i := 1; i <= 2; i++ {
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLog(t, s, "nothing to reload", i)
	}
	if code, body := s.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz after SIGHUP = %d %s; want 200", code, body)
	}
	select {
	case err := <-s.done:
		t.Fatalf("the server ended on SIGHUP: %v\n%s", err, s.stderr)
	default:
	}
}
