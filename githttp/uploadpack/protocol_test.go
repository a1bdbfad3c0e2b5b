package uploadpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"

	"github.com/depot/depot/githttp/pktline"
)

// pkts frames each item as a pkt-line with a trailing LF; "0000" and "0001"
// stay flush and delim.
func pkts(items ...string) string {
	var b strings.Builder
	for _, it := range items {
		if it == "0000" || it == "0001" {
			b.WriteString(it)
			continue
		}
		fmt.Fprintf(&b, "%04x%s\n", len(it)+5, it)
	}
	return b.String()
}

// response is a decoded upload-pack response.
type response struct {
	lines    []string // pkt-lines outside the pack data, LF removed; "0000"/"0001" for flush/delim
	pack     []byte   // band 1, or the bare pack after the last pkt-line
	progress string   // band 2
	errband  string   // band 3
}

func decodeResponse(t testing.TB, b []byte) response {
	t.Helper()
	var r response
	inPack := false
	for len(b) > 0 {
		if bytes.HasPrefix(b, []byte("PACK")) {
			r.pack = append(r.pack, b...)
			break
		}
		if len(b) < 4 {
			t.Fatalf("truncated response at %q", b)
		}
		n64, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil {
			t.Fatalf("bad pkt-line length %q", b[:4])
		}
		n := int(n64)
		if n < 4 {
			r.lines = append(r.lines, string(b[:4]))
			b = b[4:]
			continue
		}
		p := b[4:n]
		b = b[n:]
		if string(p) == "packfile\n" {
			inPack = true
			r.lines = append(r.lines, "packfile")
			continue
		}
		switch {
		case len(p) > 0 && p[0] == pktline.BandData && (inPack || len(r.pack) > 0 || bytes.HasPrefix(p[1:], []byte("PACK"))):
			r.pack = append(r.pack, p[1:]...)
		case len(p) > 0 && p[0] == pktline.BandProgress:
			r.progress += string(p[1:])
		case len(p) > 0 && p[0] == pktline.BandError:
			r.errband += string(p[1:])
		default:
			r.lines = append(r.lines, strings.TrimSuffix(string(p), "\n"))
		}
	}
	return r
}

// textLines drops flush and delim markers.
func (r response) textLines() []string {
	var out []string
	for _, l := range r.lines {
		if l != "0000" && l != "0001" {
			out = append(out, l)
		}
	}
	return out
}

// packEntry is one entry of a pack as stored: its type, and for whole
// objects their id, for REF_DELTA the base id.
type packEntry struct {
	typ  plumbing.ObjectType
	hash plumbing.Hash
	base plumbing.Hash
}

func scanPack(t testing.TB, pack []byte) []packEntry {
	t.Helper()
	sc := packfile.NewScanner(bytes.NewReader(pack))
	_, n, err := sc.Header()
	if err != nil {
		t.Fatalf("pack header: %v", err)
	}
	var out []packEntry
	for range n {
		h, err := sc.NextObjectHeader()
		if err != nil {
			t.Fatalf("pack entry: %v", err)
		}
		var content bytes.Buffer
		if _, _, err := sc.NextObject(&content); err != nil {
			t.Fatalf("pack entry data: %v", err)
		}
		e := packEntry{typ: h.Type, base: h.Reference}
		if h.Type.IsDelta() {
			out = append(out, e)
			continue
		}
		e.hash = plumbing.ComputeHash(h.Type, content.Bytes())
		out = append(out, e)
	}
	return out
}

func serveRaw(t testing.TB, dir string, version int, body string) (response, []byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := Serve(context.Background(), dir, version, strings.NewReader(body), &out, Options{})
	raw := out.Bytes()
	if err != nil {
		return response{}, raw, err
	}
	return decodeResponse(t, raw), raw, nil
}

// indexPack runs git index-pack on pack inside repo and returns its error.
func indexPack(g *gitRunner, repo string, pack []byte, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"index-pack", "--stdin"}, args...)...)
	cmd.Dir = repo
	cmd.Env = g.env
	cmd.Stdin = bytes.NewReader(pack)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func emptyRepo(t testing.TB, g *gitRunner) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "empty.git")
	g.run(t.TempDir(), "init", "-q", "--bare", dir)
	return dir
}

func TestServeV0Negotiation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tip, m4, m3 := f.main[5], f.main[4], f.main[3]
	unknown := strings.Repeat("01", 20)
	want := func(caps string) string { return "want " + tip + " " + caps + " agent=test" }
	const detailed = "multi_ack_detailed side-band-64k ofs-delta"
	tests := []struct {
		name      string
		body      string
		lines     []string
		wantPack  bool
		wantCount int // objects in the pack, 0 for any
	}{
		{"CloneDone", pkts(want(detailed), "0000", "done"), []string{"NAK"}, true, 0},
		{"CommonRound", pkts(want(detailed), "0000", "have "+m4, "0000"),
			[]string{"ACK " + m4 + " common", "ACK " + m4 + " ready", "NAK"}, false, 0},
		{"CommonRoundNoDone", pkts(want(detailed+" no-done"), "0000", "have "+m4, "0000"),
			[]string{"ACK " + m4 + " common", "ACK " + m4 + " ready", "NAK", "ACK " + m4}, true, 4},
		{"UnknownRound", pkts(want(detailed), "0000", "have "+unknown, "0000"), []string{"NAK"}, false, 0},
		{"UnknownThenCommon", pkts(want(detailed), "0000", "have "+unknown, "have "+m4, "0000"),
			[]string{"ACK " + m4 + " common", "NAK"}, false, 0},
		{"CommonThenUnknown", pkts(want(detailed), "0000", "have "+m4, "have "+unknown, "0000"),
			[]string{"ACK " + m4 + " common", "ACK " + unknown + " ready", "NAK"}, false, 0},
		{"MultiAck", pkts(want("multi_ack side-band-64k"), "0000", "have "+m4, "0000"),
			[]string{"ACK " + m4 + " continue", "NAK"}, false, 0},
		{"PlainAckDone", pkts(want("side-band-64k"), "0000", "have "+m4, "have "+m3, "done"),
			[]string{"ACK " + m4}, true, 4},
		{"DetailedDone", pkts(want(detailed), "0000", "have "+m4, "done"),
			[]string{"ACK " + m4 + " common", "ACK " + m4}, true, 4},
		{"NoSideBand", pkts(want("multi_ack_detailed ofs-delta"), "0000", "have "+m4, "done"),
			[]string{"ACK " + m4 + " common", "ACK " + m4}, true, 4},
		{"SideBandSmall", pkts(want("side-band"), "0000", "done"), []string{"NAK"}, true, 0},
		{"Deepen1", pkts(want(detailed), "deepen 1", "0000", "done"),
			[]string{"shallow " + tip, "NAK"}, true, 9},
		{"DeepenOnly", pkts(want(detailed), "deepen 1", "0000"), []string{"shallow " + tip}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, raw, err := serveRaw(t, f.server, 0, tt.body)
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if got := r.textLines(); strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Errorf("lines = %q; want %q", got, tt.lines)
			}
			if (len(r.pack) > 0) != tt.wantPack {
				t.Fatalf("pack sent = %v; want %v (%d bytes)", len(r.pack) > 0, tt.wantPack, len(raw))
			}
			if !tt.wantPack {
				return
			}
			// Incremental packs lack what the client has, so only a clone's
			// pack is checked for connectivity too.
			var strict []string
			if !strings.Contains(tt.body, "have ") && !strings.Contains(tt.body, "deepen") {
				strict = []string{"--strict"}
			}
			if out, err := indexPack(f.git, emptyRepo(t, f.git), r.pack, strict...); err != nil {
				t.Fatalf("index-pack: %v\n%s", err, out)
			}
			if n := len(scanPack(t, r.pack)); tt.wantCount > 0 && n != tt.wantCount {
				t.Errorf("pack has %d objects; want %d", n, tt.wantCount)
			}
			if strings.Contains(tt.body, "side-band") && !strings.Contains(r.progress, "Total") {
				t.Errorf("progress = %q; want a Total line", r.progress)
			}
			if len(raw) > 0 && !strings.Contains(tt.body, "side-band") && !bytes.Contains(raw, []byte("0008NAK\nPACK")) &&
				!bytes.Contains(raw, []byte(m4+"\nPACK")) {
				t.Errorf("without side-band the pack must follow the last ACK/NAK bare")
			}
		})
	}
}

// pushThin moves the server's main one commit ahead through a fetch that
// keeps the received thin pack, so that the new big.txt is stored as a delta
// against the previous version.
func (f *fixture) pushThin(t testing.TB) {
	t.Helper()
	writeFile(t, filepath.Join(f.src, "big.txt"), bigFile(6))
	f.commit("thin")
	f.git.run(f.server, "-c", "fetch.unpackLimit=1", "fetch", "-q", "file://"+f.src, "main:main")
}

func TestServePackEncoding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pushThin(t)
	tip, prev := f.main[6], f.main[5]
	prevBig := plumbing.NewHash(f.git.run(f.server, "rev-parse", prev+":big.txt"))
	tests := []struct {
		name     string
		caps     string
		have     string
		ofs      bool // OFS_DELTA entries expected
		ref      bool // REF_DELTA entries expected
		thinBase bool // a REF_DELTA against prev's big.txt, which is not sent
	}{
		{"OfsDeltaClone", "side-band-64k ofs-delta", "", true, false, false},
		{"RefDeltaClone", "side-band-64k", "", false, true, false},
		{"ThinPack", "side-band-64k ofs-delta thin-pack", prev, false, true, true},
		{"NotThin", "side-band-64k ofs-delta", prev, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := []string{"want " + tip + " " + tt.caps, "0000"}
			if tt.have != "" {
				items = append(items, "have "+tt.have)
			}
			r, _, err := serveRaw(t, f.server, 0, pkts(append(items, "done")...))
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			var ofs, ref, thin bool
			for _, e := range scanPack(t, r.pack) {
				switch e.typ {
				case plumbing.OFSDeltaObject:
					ofs = true
				case plumbing.REFDeltaObject:
					ref = true
					// The client has prev's big.txt; only a thin pack may
					// lean on it without sending it.
					thin = thin || (tt.have != "" && e.base == prevBig)
				}
			}
			if ofs != tt.ofs || ref != tt.ref || thin != tt.thinBase {
				t.Errorf("OFS_DELTA %v, REF_DELTA %v, thin base %v; want %v, %v, %v", ofs, ref, thin, tt.ofs, tt.ref, tt.thinBase)
			}
			var strict []string
			if tt.have == "" {
				strict = []string{"--strict"}
			}
			out, err := indexPack(f.git, emptyRepo(t, f.git), r.pack, strict...)
			if tt.thinBase {
				if err == nil {
					t.Errorf("thin pack indexed without its base")
				}
				full := filepath.Join(t.TempDir(), "full.git")
				f.git.run(f.root, "clone", "-q", "--bare", f.server, full)
				out, err = indexPack(f.git, full, r.pack, "--fix-thin")
			}
			if err != nil {
				t.Errorf("index-pack: %v\n%s", err, out)
			}
		})
	}
}

func TestServeIncludeTag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tag := plumbing.NewHash(f.git.run(f.server, "rev-parse", "refs/tags/v1.0")) // on main[4]
	for _, include := range []bool{true, false} {
		t.Run(fmt.Sprintf("include-tag=%v", include), func(t *testing.T) {
			caps := "side-band-64k ofs-delta"
			if include {
				caps += " include-tag"
			}
			r, _, err := serveRaw(t, f.server, 0, pkts("want "+f.main[5]+" "+caps, "0000", "have "+f.main[3], "done"))
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			got := false
			for _, e := range scanPack(t, r.pack) {
				got = got || e.hash == tag
			}
			if got != include {
				t.Errorf("tag v1.0 in pack = %v; want %v", got, include)
			}
		})
	}
}

func TestServeV2(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.git
	tip, m4 := f.main[5], f.main[4]
	rev := func(r string) string { return g.run(f.server, "rev-parse", r) }
	feature := rev("feature")
	cmd := func(name string, args ...string) string {
		items := []string{"command=" + name, "agent=test", "object-format=sha1", "0001"}
		return pkts(append(append(items, args...), "0000")...)
	}
	tests := []struct {
		name  string
		body  string
		lines []string
		pack  bool
	}{
		{"LsRefsPrefix", cmd("ls-refs", "ref-prefix refs/heads/"), []string{feature + " refs/heads/feature", tip + " refs/heads/main"}, false},
		{"LsRefsSymrefsPeel", cmd("ls-refs", "symrefs", "peel", "ref-prefix HEAD", "ref-prefix refs/tags/v1"),
			[]string{tip + " HEAD symref-target:refs/heads/main", rev("v1.0") + " refs/tags/v1.0 peeled:" + m4}, false},
		{"LsRefsAll", cmd("ls-refs"), []string{tip + " HEAD", feature + " refs/heads/feature", tip + " refs/heads/main",
			rev("v-feature") + " refs/tags/v-feature", rev("v0.1") + " refs/tags/v0.1", rev("v1.0") + " refs/tags/v1.0"}, false},
		{"FetchReady", cmd("fetch", "want "+tip, "have "+m4, "ofs-delta"), []string{"acknowledgments", "ACK " + m4, "ready", "packfile"}, true},
		{"FetchWaitForDone", cmd("fetch", "want "+tip, "have "+m4, "wait-for-done"), []string{"acknowledgments", "ACK " + m4}, false},
		{"FetchWaitForDoneThenDone", cmd("fetch", "want "+tip, "have "+m4, "wait-for-done", "done"), []string{"packfile"}, true},
		{"FetchWaitForDoneNoWants", cmd("fetch", "have "+m4, "have "+strings.Repeat("02", 20), "wait-for-done"), []string{"acknowledgments", "ACK " + m4}, false},
		{"FetchNotReady", cmd("fetch", "want "+tip, "have "+strings.Repeat("02", 20)), []string{"acknowledgments", "NAK"}, false},
		{"FetchDone", cmd("fetch", "want "+tip, "done"), []string{"packfile"}, true},
		{"FetchDeepen", cmd("fetch", "want "+tip, "deepen 1", "done"), []string{"shallow-info", "shallow " + tip, "packfile"}, true},
		{"FetchWantRef", cmd("fetch", "want-ref refs/heads/feature", "done"), []string{"wanted-refs", feature + " refs/heads/feature", "packfile"}, true},
		{"ObjectInfo", cmd("object-info", "size", "oid "+rev("main:small.txt")), []string{"size", rev("main:small.txt") + " 8"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := serveRaw(t, f.server, 2, tt.body)
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if got := r.textLines(); strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Errorf("lines = %q; want %q", got, tt.lines)
			}
			if (len(r.pack) > 0) != tt.pack {
				t.Fatalf("pack sent = %v; want %v", len(r.pack) > 0, tt.pack)
			}
			if tt.pack {
				var strict []string
				if !strings.Contains(tt.body, "have ") && !strings.Contains(tt.body, "deepen") {
					strict = []string{"--strict"}
				}
				if out, err := indexPack(g, emptyRepo(t, g), r.pack, strict...); err != nil {
					t.Errorf("index-pack: %v\n%s", err, out)
				}
			}
		})
	}

	t.Run("LsRefsUnborn", func(t *testing.T) {
		repo := emptyRepo(t, g)
		g.run(repo, "symbolic-ref", "HEAD", "refs/heads/trunk")
		r, _, err := serveRaw(t, repo, 2, cmd("ls-refs", "symrefs", "unborn"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.textLines(), []string{"unborn HEAD symref-target:refs/heads/trunk"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("lines = %q; want %q", got, want)
		}
	})
}

func TestAdvertise(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var v0 bytes.Buffer
	if err := AdvertiseRefs(context.Background(), f.server, &v0, Options{Agent: "depot/0.1"}); err != nil {
		t.Fatal(err)
	}
	r := decodeResponse(t, v0.Bytes())
	if len(r.lines) == 0 || r.lines[len(r.lines)-1] != "0000" {
		t.Fatalf("advertisement does not end with a flush: %q", r.lines)
	}
	first := r.lines[0]
	for _, want := range []string{f.main[5] + " HEAD\x00", "symref=HEAD:refs/heads/main", "agent=depot/0.1", "multi_ack_detailed",
		"side-band-64k", "shallow", "filter", "no-done", "allow-reachable-sha1-in-want", "include-tag"} {
		if !strings.Contains(first, want) {
			t.Errorf("first line %q lacks %q", first, want)
		}
	}
	if want := f.main[4] + " refs/tags/v1.0^{}"; !strings.Contains(strings.Join(r.lines, "\n"), want) {
		t.Errorf("advertisement lacks peeled tag %q", want)
	}

	var empty bytes.Buffer
	if err := AdvertiseRefs(context.Background(), emptyRepo(t, f.git), &empty, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := decodeResponse(t, empty.Bytes()).lines[0]; !strings.HasPrefix(got, plumbing.ZeroHash.String()+" capabilities^{}\x00") {
		t.Errorf("empty repository advertises %q", got)
	}

	var v2 bytes.Buffer
	if err := AdvertiseV2(context.Background(), f.server, &v2, Options{}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(decodeResponse(t, v2.Bytes()).lines, "|")
	if want := "version 2|agent=depot|ls-refs=unborn|fetch=shallow wait-for-done filter ref-in-want|server-option|object-format=sha1|object-info|0000"; got != want {
		t.Errorf("v2 advertisement = %q; want %q", got, want)
	}
}

// failAfter fails every write once n bytes went through.
type failAfter struct{ n int }

func (w *failAfter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, errors.New("client went away")
	}
	return len(b), nil
}

func TestServeCancel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := pkts("want "+f.main[5]+" side-band-64k ofs-delta", "0000", "done")
	t.Run("ContextCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := Serve(ctx, f.server, 0, strings.NewReader(body), io.Discard, Options{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve with canceled context = %v; want context.Canceled", err)
		}
	})
	t.Run("ClientGone", func(t *testing.T) {
		err := Serve(context.Background(), f.server, 0, strings.NewReader(body), &failAfter{n: 1000}, Options{})
		if err == nil || !strings.Contains(err.Error(), "client went away") {
			t.Errorf("Serve to a failing writer = %v; want the write error", err)
		}
	})
}
