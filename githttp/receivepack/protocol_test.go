package receivepack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/depot/depot/githttp/pktline"
)

const zero = "0000000000000000000000000000000000000000"

// fixture is a server repository with main and side pushed, and a local
// repository with one more commit on top of each, for hand-made requests.
type fixture struct {
	e                  *env
	main, side         string // on the server
	nextMain, nextSide string // local only
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := newEnv(t)
	f := &fixture{e: e}
	f.main = e.commit(e.work, "main 1", map[string]string{"m": "1\n"})
	e.git(e.work, "checkout", "-q", "-b", "side")
	f.side = e.commit(e.work, "side 1", map[string]string{"s": "1\n"})
	e.git(e.work, "push", "origin", "main", "side")
	f.nextSide = e.commit(e.work, "side 2", map[string]string{"s": "2\n"})
	e.git(e.work, "checkout", "-q", "main")
	f.nextMain = e.commit(e.work, "main 2", map[string]string{"m": "2\n"})
	return f
}

// pack builds a pack with git pack-objects from the local repository;
// input is its stdin (rev-list arguments when revs is set).
func (f *fixture) pack(t testing.TB, revs bool, input string) []byte {
	t.Helper()
	args := []string{"pack-objects", "--stdout", "-q"}
	if revs {
		args = append(args, "--revs", "--thin")
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = f.e.work
	cmd.Env = gitEnv(f.e.home)
	cmd.Stdin = strings.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git pack-objects: %v\n%s", err, stderr.String())
	}
	return out
}

// emptyPack is a valid pack with no objects.
func (f *fixture) emptyPack(t testing.TB) []byte { return f.pack(t, false, "") }

func cmdLine(old, new, name string) string { return old + " " + new + " " + name }

func TestServeRefUpdates(t *testing.T) {
	tests := []struct {
		name string
		caps string
		// cmds and pack are built from the fixture.
		cmds func(f *fixture) []string
		pack func(t *testing.T, f *fixture) []byte
		want []string // report lines
		refs func(f *fixture) map[string]string
	}{
		{
			name: "StaleOldValue",
			caps: "report-status",
			cmds: func(f *fixture) []string {
				return []string{
					cmdLine(f.side, f.nextMain, "refs/heads/main"), // main is not at f.side
					cmdLine(f.side, f.nextSide, "refs/heads/side"),
				}
			},
			pack: func(t *testing.T, f *fixture) []byte {
				return f.pack(t, true, f.nextMain+"\n"+f.nextSide+"\n^"+f.main+"\n^"+f.side+"\n")
			},
			want: []string{"unpack ok", "ng refs/heads/main stale info", "ok refs/heads/side"},
			refs: func(f *fixture) map[string]string {
				return map[string]string{"refs/heads/main": f.main, "refs/heads/side": f.nextSide}
			},
		},
		{
			name: "AtomicRejected",
			caps: "report-status atomic",
			cmds: func(f *fixture) []string {
				return []string{
					cmdLine(f.main, f.nextMain, "refs/heads/main"),
					cmdLine(f.main, f.nextSide, "refs/heads/side"), // side is not at f.main
					cmdLine(zero, f.nextMain, "refs/heads/new"),
				}
			},
			pack: func(t *testing.T, f *fixture) []byte {
				return f.pack(t, true, f.nextMain+"\n"+f.nextSide+"\n^"+f.main+"\n^"+f.side+"\n")
			},
			want: []string{"unpack ok",
				"ng refs/heads/main atomic transaction failed",
				"ng refs/heads/side atomic transaction failed",
				"ng refs/heads/new atomic transaction failed"},
			refs: func(f *fixture) map[string]string {
				return map[string]string{"refs/heads/main": f.main, "refs/heads/side": f.side, "refs/heads/new": ""}
			},
		},
		{
			// A ref refused before locking keeps its reason; the others
			// are "atomic push failure", as with git's receive-pack.
			name: "AtomicDeleteCurrent",
			caps: "report-status delete-refs atomic",
			cmds: func(f *fixture) []string {
				return []string{cmdLine(f.side, f.nextSide, "refs/heads/side"), cmdLine(f.main, zero, "refs/heads/main")}
			},
			pack: func(t *testing.T, f *fixture) []byte { return f.pack(t, true, f.nextSide+"\n^"+f.side+"\n") },
			want: []string{"unpack ok",
				"ng refs/heads/side atomic push failure",
				"ng refs/heads/main deletion of the current branch prohibited"},
			refs: func(f *fixture) map[string]string {
				return map[string]string{"refs/heads/main": f.main, "refs/heads/side": f.side}
			},
		},
		{
			name: "CreateExisting",
			caps: "report-status",
			cmds: func(f *fixture) []string { return []string{cmdLine(zero, f.nextMain, "refs/heads/main")} },
			pack: func(t *testing.T, f *fixture) []byte { return f.pack(t, true, f.nextMain+"\n^"+f.main+"\n") },
			want: []string{"unpack ok", "ng refs/heads/main stale info (ref already exists)"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/main": f.main} },
		},
		{
			name: "DeleteStale",
			caps: "report-status delete-refs",
			cmds: func(f *fixture) []string { return []string{cmdLine(f.main, zero, "refs/heads/side")} },
			want: []string{"unpack ok", "ng refs/heads/side stale info"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/side": f.side} },
		},
		{
			name: "DeleteCurrent",
			caps: "report-status delete-refs",
			cmds: func(f *fixture) []string {
				return []string{cmdLine(f.main, zero, "refs/heads/main"), cmdLine(f.side, zero, "refs/heads/side")}
			},
			want: []string{"unpack ok", "ng refs/heads/main deletion of the current branch prohibited", "ok refs/heads/side"},
			refs: func(f *fixture) map[string]string {
				return map[string]string{"refs/heads/main": f.main, "refs/heads/side": ""}
			},
		},
		{
			name: "DeleteOnlyNoPack",
			caps: "report-status delete-refs",
			cmds: func(f *fixture) []string { return []string{cmdLine(f.side, zero, "refs/heads/side")} },
			want: []string{"unpack ok", "ok refs/heads/side"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/side": ""} },
		},
		{
			name: "BadRefNames",
			caps: "report-status",
			cmds: func(f *fixture) []string {
				return []string{
					cmdLine(zero, f.main, "refs/heads/a..b"),
					cmdLine(zero, f.main, "refs/heads/x.lock"),
					cmdLine(zero, f.main, "HEAD"),
					cmdLine(zero, f.main, "refs/heads/sp ace"),
					cmdLine(zero, f.main, "refs/heads/ok"),
				}
			},
			pack: func(t *testing.T, f *fixture) []byte { return f.emptyPack(t) },
			want: []string{"unpack ok",
				"ng refs/heads/a..b funny refname: contains '..' or '@{'",
				"ng refs/heads/x.lock funny refname: path component ends with .lock",
				"ng HEAD funny refname: ref name must start with refs/",
				"ng refs/heads/sp ace funny refname: contains a forbidden character ' '",
				"ok refs/heads/ok"},
			refs: func(f *fixture) map[string]string {
				return map[string]string{"refs/heads/ok": f.main, "refs/heads/x.lock": "", "HEAD": f.main}
			},
		},
		{
			name: "DirectoryFileConflict",
			caps: "report-status",
			cmds: func(f *fixture) []string { return []string{cmdLine(zero, f.main, "refs/heads/main/sub")} },
			pack: func(t *testing.T, f *fixture) []byte { return f.emptyPack(t) },
			want: []string{"unpack ok", "ng refs/heads/main/sub cannot lock ref (conflicts with an existing ref)"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/main": f.main} },
		},
		{
			name: "MissingTipNotInPack",
			caps: "report-status",
			cmds: func(f *fixture) []string { return []string{cmdLine(f.main, f.nextMain, "refs/heads/main")} },
			pack: func(t *testing.T, f *fixture) []byte { return f.emptyPack(t) },
			want: []string{"unpack ok", "ng refs/heads/main missing necessary objects"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/main": f.main} },
		},
		{
			name: "MissingTree",
			caps: "report-status",
			cmds: func(f *fixture) []string { return []string{cmdLine(f.main, f.nextMain, "refs/heads/main")} },
			// The commit alone: its new tree and blob are on neither side.
			pack: func(t *testing.T, f *fixture) []byte { return f.pack(t, false, f.nextMain+"\n") },
			want: []string{"unpack ok", "ng refs/heads/main missing necessary objects"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/main": f.main} },
		},
		{
			name: "BranchToNonCommit",
			caps: "report-status",
			cmds: func(f *fixture) []string {
				return []string{cmdLine(zero, "%TREE%", "refs/heads/tree"), cmdLine(zero, "%TREE%", "refs/tags/tree")}
			},
			pack: func(t *testing.T, f *fixture) []byte { return f.emptyPack(t) },
			want: []string{"unpack ok", "ng refs/heads/tree refs/heads/ may only point at commits, not a tree", "ok refs/tags/tree"},
			refs: func(f *fixture) map[string]string { return map[string]string{"refs/heads/tree": ""} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tree := f.e.git(f.e.work, "rev-parse", f.main+"^{tree}")
			cmds := tc.cmds(f)
			for i := range cmds {
				cmds[i] = strings.ReplaceAll(cmds[i], "%TREE%", tree)
			}
			var pack []byte
			if tc.pack != nil {
				pack = tc.pack(t, f)
			}
			before := packFiles(t, f.e.bare)
			lines, _, err := rawPush(t, f.e.bare, tc.caps, cmds, pack, Options{})
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if !slices.Equal(lines, tc.want) {
				t.Errorf("report:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
			}
			for ref, want := range tc.refs(f) {
				if got := f.e.serverRef(ref); got != want {
					t.Errorf("%s = %q; want %q", ref, got, want)
				}
			}
			if !strings.Contains(strings.Join(lines, "\n"), "ok refs/") && !slices.Equal(before, packFiles(t, f.e.bare)) {
				t.Errorf("refused push left a pack: %v → %v", before, packFiles(t, f.e.bare))
			}
			f.e.fsck()
		})
	}
}

func packFiles(t testing.TB, bare string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(bare, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestServeBadRequests feeds malformed bodies to Serve: no panic, an error,
// pktline.ErrProtocol with no output when nothing was written, refs unchanged.
func TestServeBadRequests(t *testing.T) {
	f := newFixture(t)
	good := f.pack(t, true, f.nextMain+"\n^"+f.main+"\n")
	update := cmdLine(f.main, f.nextMain, "refs/heads/main")
	withCmd := func(tail []byte) []byte {
		b := pktline.Append(nil, update+"\x00report-status\n")
		return append(pktline.AppendFlush(b), tail...)
	}
	tests := []struct {
		name     string
		body     []byte
		protocol bool   // want pktline.ErrProtocol and no output
		unpack   string // else want this unpack line
	}{
		{"Empty", nil, true, ""},
		{"NotPktLine", []byte("GET / HTTP/1.1\r\n"), true, ""},
		{"BadLength", []byte("00zzabc"), true, ""},
		{"ShortLength", []byte("0003"), true, ""},
		{"Truncated", []byte("0100abc"), true, ""},
		{"BadCommand", append(pktline.Append(nil, "hello world\n"), "0000"...), true, ""},
		{"BadHash", append(pktline.Append(nil, strings.Repeat("g", 40)+" "+zero+" refs/heads/x\n"), "0000"...), true, ""},
		{"NoFlush", pktline.Append(nil, update+"\n"), true, ""},
		{"PushCert", append(pktline.Append(nil, "push-cert\x00report-status\n"), "0000"...), true, ""},
		{"SHA256", append(pktline.Append(nil, update+"\x00report-status object-format=sha256\n"), "0000"...), true, ""},
		{"NoPack", withCmd(nil), false, "unpack pack missing"},
		{"GarbagePack", withCmd([]byte("this is not a pack at all, not even close")), false, "unpack pack signature mismatch"},
		{"TruncatedPack", withCmd(good[:len(good)/2]), false, "unpack reading object"},
		{"BadChecksum", withCmd(append(slices.Clone(good[:len(good)-1]), good[len(good)-1]^1)), false, "unpack pack is corrupted (SHA1 mismatch)"},
		{"JunkAfterPack", withCmd(append(slices.Clone(good), "junk"...)), false, "unpack pack has junk at the end"},
		{"HugeObjectCount", withCmd(append([]byte("PACK\x00\x00\x00\x02\xff\xff\xff\xff"), good[12:]...)), false, "unpack "}, // the trailer is read as entries
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Serve(context.Background(), f.e.bare, bytes.NewReader(tc.body), &out, Options{})
			if err == nil {
				t.Fatalf("Serve succeeded; report %q", out.String())
			}
			if tc.protocol {
				if !errors.Is(err, pktline.ErrProtocol) || out.Len() != 0 || res != nil {
					t.Fatalf("Serve = %v, %v with %d bytes written; want pktline.ErrProtocol and nothing written", res, err, out.Len())
				}
			} else {
				lines := parseReport(t, out.Bytes(), false)
				if len(lines) != 2 || !strings.HasPrefix(lines[0], tc.unpack) || lines[1] != "ng refs/heads/main unpacker error" {
					t.Fatalf("report = %q; want %q… and ng", lines, tc.unpack)
				}
				if errors.Is(err, pktline.ErrProtocol) {
					t.Errorf("Serve = %v after writing a report; want a non-protocol error", err)
				}
			}
			if got := f.e.serverRef("refs/heads/main"); got != f.main {
				t.Errorf("main = %s; want %s", got, f.main)
			}
		})
	}
	f.e.fsck()
}

func TestServeLimits(t *testing.T) {
	f := newFixture(t)
	pack := f.pack(t, true, f.nextMain+"\n^"+f.main+"\n")
	update := cmdLine(f.main, f.nextMain, "refs/heads/main")

	t.Run("MaxPackBytes", func(t *testing.T) {
		lines, _, err := rawPush(t, f.e.bare, "report-status", []string{update}, pack, Options{MaxPackBytes: 100})
		want := []string{"unpack pack exceeds the maximum size of 100 bytes", "ng refs/heads/main unpacker error"}
		if err == nil || !slices.Equal(lines, want) {
			t.Errorf("report = %q, err %v; want %q", lines, err, want)
		}
	})
	t.Run("MaxCommands", func(t *testing.T) {
		cmds := []string{update, update, update}
		_, _, err := rawPush(t, f.e.bare, "report-status", cmds, pack, Options{MaxCommands: 2})
		if !errors.Is(err, pktline.ErrProtocol) {
			t.Errorf("Serve = %v; want pktline.ErrProtocol", err)
		}
	})
	t.Run("MaxObjectBytes", func(t *testing.T) {
		lines, _, err := rawPush(t, f.e.bare, "report-status", []string{update}, pack, Options{MaxObjectBytes: 10})
		if err == nil || len(lines) == 0 || !strings.Contains(lines[0], "larger than the maximum object size of 10 bytes") {
			t.Errorf("report = %q, err %v; want a size refusal", lines, err)
		}
	})
	t.Run("Disconnect", func(t *testing.T) {
		body := pktline.AppendFlush(pktline.Append(nil, update+"\x00report-status\n"))
		r := io.MultiReader(bytes.NewReader(append(body, pack[:len(pack)/2]...)), iotest.ErrReader(errors.New("connection reset")))
		var out bytes.Buffer
		_, err := Serve(context.Background(), f.e.bare, r, &out, Options{})
		if err == nil || !strings.Contains(out.String(), "unpack reading pack: connection reset") {
			t.Errorf("Serve = %v, report %q; want the read error reported", err, out.String())
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		body := pktline.AppendFlush(pktline.Append(nil, update+"\x00report-status\n"))
		var out bytes.Buffer
		_, err := Serve(ctx, f.e.bare, bytes.NewReader(append(body, pack...)), &out, Options{})
		if !errors.Is(err, context.Canceled) || !strings.Contains(out.String(), "unpack push cancelled") {
			t.Errorf("Serve = %v, report %q; want cancellation reported", err, out.String())
		}
	})
	if got := f.e.serverRef("refs/heads/main"); got != f.main {
		t.Errorf("main = %s; want %s", got, f.main)
	}
	f.e.fsck()
}

// TestServeSideBand checks the report travels in band 1, progress in
// band 2 unless quiet, and the response ends with a flush.
func TestServeSideBand(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, caps   string
		wantProgress bool
	}{
		{"Progress", "report-status side-band-64k", true},
		{"Quiet", "report-status-v2 side-band-64k quiet", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := pktline.AppendFlush(pktline.Append(nil, cmdLine(zero, f.main, "refs/heads/"+tc.name)+"\x00"+tc.caps+"\n"))
			body = append(body, f.emptyPack(t)...)
			var out bytes.Buffer
			if _, err := Serve(context.Background(), f.e.bare, bytes.NewReader(body), &out, Options{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(out.Bytes(), []byte("0000")) {
				t.Errorf("response does not end with a flush: %q", out.String())
			}
			if got := bytes.Contains(out.Bytes(), []byte("\x02depot: received")); got != tc.wantProgress {
				t.Errorf("progress on band 2 = %v; want %v in %q", got, tc.wantProgress, out.String())
			}
			lines := parseReport(t, out.Bytes(), true)
			want := []string{"unpack ok", "ok refs/heads/" + tc.name}
			if !slices.Equal(lines, want) {
				t.Errorf("report = %q; want %q", lines, want)
			}
		})
	}
	f.e.fsck()
}

func TestAdvertiseRefs(t *testing.T) {
	e := newEnv(t)
	var empty bytes.Buffer
	if err := AdvertiseRefs(context.Background(), e.bare, &empty, Options{Agent: "depot/test"}); err != nil {
		t.Fatal(err)
	}
	want := pktline.AppendFlush(pktline.Append(nil, zero+" capabilities^{}\x00"+capabilities("depot/test")+"\n"))
	if !bytes.Equal(empty.Bytes(), want) {
		t.Errorf("empty advertisement = %q; want %q", empty.String(), want)
	}
	c1 := e.commit(e.work, "first", nil)
	e.git(e.work, "push", "origin", "main", "main:b", "main:refs/tags/t")
	e.git(e.bare, "pack-refs", "--all")
	if err := os.WriteFile(filepath.Join(e.bare, "refs", "heads", "b"), []byte(c1+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var full bytes.Buffer
	if err := AdvertiseRefs(context.Background(), e.bare, &full, Options{}); err != nil {
		t.Fatal(err)
	}
	lines := parseReport(t, full.Bytes(), false)
	wantLines := []string{
		c1 + " refs/heads/b\x00" + capabilities("depot"),
		c1 + " refs/heads/main",
		c1 + " refs/tags/t",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("advertisement = %q; want %q", lines, wantLines)
	}
}

// TestServeForeignLock holds refs/heads/main.lock as another git process
// would: the update is refused, the lock is left to its owner.
func TestServeForeignLock(t *testing.T) {
	f := newFixture(t)
	lock := filepath.Join(f.e.bare, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pack := f.pack(t, true, f.nextMain+"\n^"+f.main+"\n")
	lines, _, err := rawPush(t, f.e.bare, "report-status", []string{cmdLine(f.main, f.nextMain, "refs/heads/main")}, pack, Options{})
	want := []string{"unpack ok", "ng refs/heads/main failed to lock"}
	if err != nil || !slices.Equal(lines, want) {
		t.Errorf("report = %q, %v; want %q", lines, err, want)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("foreign lock removed: %v", err)
	}
	os.Remove(lock)
	if got := f.e.serverRef("refs/heads/main"); got != f.main {
		t.Errorf("main = %s; want %s", got, f.main)
	}
	f.e.fsck()
}
