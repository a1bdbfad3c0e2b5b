package dbtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// installHint is what a machine without PostgreSQL's binaries lacks.
const installHint = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: apt-get install postgresql " +
	"(or set DEPOT_TEST_POSTGRES to the URL of a PostgreSQL whose role may create databases)"

// startServer runs a private PostgreSQL in a new temporary directory (a
// copy of initdbOnce's cluster), listening only on a unix socket there,
// and returns its URL and what stops it and removes the directory. PostgreSQL refuses to run as root;
// as root it runs as the postgres user the Debian package creates. Its
// durability is off (fsync, full_page_writes): the data is thrown away.
func startServer() (url string, stop func(), err error) {
	bin, err := serverBin()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "depot-pg-")
	if err != nil {
		return "", nil, err
	}
	fail := func(err error) (string, func(), error) {
		os.RemoveAll(dir)
		return "", nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running as root, PostgreSQL needs a postgres user: %w (%s)", err, installHint))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	cluster, err := initdbOnce(bin, cred)
	if err != nil {
		return fail(err)
	}
	// cp -a keeps the owner and the modes PostgreSQL insists on.
	if out, err := exec.Command("cp", "-a", cluster, data).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("copy %s: %v\n%s", cluster, err, out))
	}
	port := 20000 + rand.IntN(40000)
	var log bytes.Buffer
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-k", dir, "-p", strconv.Itoa(port), "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	srv.Stdout, srv.Stderr = &log, &log
	// Pdeathsig: a test binary that dies takes its server with it.
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := srv.Start(); err != nil {
		return fail(fmt.Errorf("postgres: %w", err))
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stop = func() {
		// SIGQUIT is the immediate shutdown: no checkpoint, since the
		// data goes with the directory.
		srv.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	socket := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			stop()
			return "", nil, fmt.Errorf("postgres exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("postgres: no socket after 30s\n%s", log.String())
		}
	}
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", dir, port), stop, nil
}

// initdbOnce returns a new cluster's data directory for bin, made by
// initdb once per machine and user and kept in the temporary directory
// (about 40 MB), which each test binary copies: initdb takes 1 to 2 s on
// 2 busy cores, a copy a fifth of that, and a go test of the repository
// starts a server in each of several packages.
func initdbOnce(bin string, cred *syscall.Credential) (string, error) {
	version := filepath.Base(filepath.Dir(bin))
	cluster := filepath.Join(os.TempDir(), fmt.Sprintf("depot-pg-initdb-%s-%d", version, os.Geteuid()))
	if _, err := os.Stat(filepath.Join(cluster, "PG_VERSION")); err == nil {
		return cluster, nil
	}
	tmp, err := os.MkdirTemp("", "depot-pg-initdb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if cred != nil {
		if err := os.Chown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
	}
	made := filepath.Join(tmp, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", made, "-U", "postgres",
		"--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// Another test binary may have won the race: then its copy is used.
	if err := os.Rename(made, cluster); err != nil {
		if _, serr := os.Stat(filepath.Join(cluster, "PG_VERSION")); serr != nil {
			return "", err
		}
	}
	return cluster, nil
}

// serverBin returns the newest /usr/lib/postgresql/N/bin that has initdb.
func serverBin() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New(installHint)
	}
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[j]))))
		return vi < vj
	})
	return filepath.Dir(found[len(found)-1]), nil
}
