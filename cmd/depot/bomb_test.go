package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/depot/depot/repos/git/packfile/packtest"
	"github.com/go-git/go-git/v5/plumbing"
)

// maxBombRSS is the peak resident memory the server may reach while it
// refuses and resolves the delta bombs of TestDeltaBombsKeepMemory at
// once: the 96 MiB delta budget, Go's heap around it, and the binary.
const maxBombRSS = 320 << 20

// TestDeltaBombsKeepMemory pushes, all at once, four packs of a few
// kilobytes that would make a 1 GiB object (refused from the size they
// declare) and four that make 96 MiB objects three deltas deep (within
// the limit, so resolved, their bases spilled beyond the budget). The
// server once went from 22 MB to 1.6 GB on one such push; its peak RSS
// must now stay under maxBombRSS.
func TestDeltaBombsKeepMemory(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	if _, errOut, code := cli(t, "pw-bomber-1\n", "user", "add", "bomber", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	out, errOut, code := cli(t, "", "token", "create", "--user", "bomber", "--scopes", "project:depot", "--data", data)
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	secret := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	secret = strings.TrimSpace(secret)
	if _, errOut, code := cli(t, "", "repo", "create", "bomber/bombs", "--data", data); code != 0 {
		t.Fatalf("repo create: %s", errOut)
	}

	push := func(ref string, tip plumbing.Hash, pack []byte) string {
		var body bytes.Buffer
		line := fmt.Sprintf("%s %s %s\x00report-status\n", plumbing.ZeroHash, tip, ref)
		fmt.Fprintf(&body, "%04x%s0000", len(line)+4, line)
		body.Write(pack)
		req, _ := http.NewRequest("POST", s.url+"/bomber/bombs.git/git-receive-pack", &body)
		req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
		req.SetBasicAuth("bomber", secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, b)
	}

	const mib = 1 << 20
	bomb := packtest.Bomb(16*mib, 1<<30)
	var wg sync.WaitGroup
	results := make([]string, 8)
	wants := make([]string, 8)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			results[i] = push(fmt.Sprintf("refs/tags/bomb-%d", i), plumbing.NewHash(strings.Repeat("ab", 20)), bomb)
		}()
		wants[i] = "unpack object at offset"
		chain, tip := deepChain(i)
		go func() {
			defer wg.Done()
			results[4+i] = push(fmt.Sprintf("refs/tags/chain-%d", i), tip, chain)
		}()
		wants[4+i] = fmt.Sprintf("ok refs/tags/chain-%d", i)
	}
	wg.Wait()
	for i, r := range results {
		if !strings.Contains(r, wants[i]) {
			t.Errorf("push %d answered %q; want %q", i, r, wants[i])
		}
	}
	if !strings.Contains(results[0], "larger than the maximum object size of 100 MiB") {
		t.Errorf("bomb refused with %q; want the size limit named", results[0])
	}
	peak := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("server peak RSS %d MiB (limit %d MiB)", peak/mib, maxBombRSS/mib)
	if peak > maxBombRSS {
		t.Errorf("server peak RSS %d MiB; want at most %d MiB", peak/mib, maxBombRSS/mib)
	}
}

// deepChain returns a pack of a 16 MiB blob and three deltas on it, each
// on the one before, that make distinct 96 MiB blobs, and the last one's
// id.
func deepChain(seed int) ([]byte, plumbing.Hash) {
	const base, size = 16 << 20, 96 << 20
	zeros := make([]byte, base)
	entries := []packtest.Entry{{Type: plumbing.BlobObject, Data: zeros}}
	prevSize := int64(base)
	var tip plumbing.Hash
	for d := 1; d <= 3; d++ {
		prefix := fmt.Sprintf("chain %d depth %d\n", seed, d)
		ops := []any{prefix}
		for left := int64(size - len(prefix)); left > 0; left -= min(left, base) {
			ops = append(ops, packtest.Copy{Off: prevSize - base, Size: min(left, base)})
		}
		entries = append(entries, packtest.Entry{
			Type: plumbing.OFSDeltaObject, OfsBase: d - 1,
			Data: packtest.Delta(prevSize, size, ops...),
		})
		prevSize = size
	}
	// Compute the tip: each result is the prefix then the tail of zeros
	// copied from the base's last 16 MiB (all zeros past the prefixes).
	h := plumbing.NewHasher(plumbing.BlobObject, size)
	prefix := fmt.Sprintf("chain %d depth %d\n", seed, 3)
	h.Write([]byte(prefix))
	left := size - len(prefix)
	for left > 0 {
		n := min(left, base)
		h.Write(zeros[:n])
		left -= n
	}
	tip = h.Sum()
	return packtest.Pack(entries...), tip
}

// vmHWM reads a process's peak resident set size from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
