package commitgraph

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// Entry is one commit for Write: what the CDAT chunk holds of it.
type Entry struct {
	ID      plumbing.Hash
	Tree    plumbing.Hash
	Parents []plumbing.Hash
	Time    int64 // committer time, seconds since the epoch
}

// The chunks only a writer needs: generation data v2 (corrected commit
// date offsets) and its overflow.
const (
	chunkGDA2 = 'G'<<24 | 'D'<<16 | 'A'<<8 | '2'
	chunkGDO2 = 'G'<<24 | 'D'<<16 | 'O'<<8 | '2'
)

// Limits of the CDAT generation field and of a GDA2 offset.
const (
	maxGenerationV1 = 1<<30 - 1
	maxOffsetV2     = 1<<31 - 1
	offsetOverflow  = 1 << 31
)

// Write writes a single commit-graph file of commits to w, as
// `git commit-graph write` does without changed-path filters: OIDF,
// OIDL, CDAT with topological levels, GDA2 (and GDO2) with corrected
// commit dates, EDGE for octopus merges. Every parent of every commit
// must be among commits, as git requires of a graph that is not a chain
// layer; the order of commits does not matter. It returns the file's
// checksum.
func Write(w io.Writer, commits []Entry) (plumbing.Hash, error) {
	if len(commits) > maxCommits {
		return plumbing.ZeroHash, fmt.Errorf("commitgraph: %d commits exceed the format's limit", len(commits))
	}
	sorted := slices.Clone(commits)
	slices.SortFunc(sorted, func(a, b Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	pos := make(map[plumbing.Hash]uint32, len(sorted))
	for i, c := range sorted {
		if i > 0 && sorted[i-1].ID == c.ID {
			return plumbing.ZeroHash, fmt.Errorf("commitgraph: commit %s given twice", c.ID)
		}
		pos[c.ID] = uint32(i)
	}
	parents := make([][]uint32, len(sorted))
	for i, c := range sorted {
		for _, p := range c.Parents {
			j, ok := pos[p]
			if !ok {
				return plumbing.ZeroHash, fmt.Errorf("commitgraph: parent %s of %s is not in the graph", p, c.ID)
			}
			parents[i] = append(parents[i], j)
		}
	}
	level, corrected, err := generations(sorted, parents)
	if err != nil {
		return plumbing.ZeroHash, err
	}

	n := len(sorted)
	var edges []uint32
	var overflow []uint64
	cdat := make([]byte, 0, n*cdatLen)
	gda2 := make([]byte, 0, n*4)
	for i, c := range sorted {
		cdat = append(cdat, c.Tree[:]...)
		p1, p2 := uint32(parentNone), uint32(parentNone)
		switch ps := parents[i]; {
		case len(ps) == 0:
		case len(ps) <= 2:
			p1 = ps[0]
			if len(ps) == 2 {
				p2 = ps[1]
			}
		default:
			p1, p2 = ps[0], lastEdge|uint32(len(edges))
			for k, p := range ps[1:] {
				if k == len(ps)-2 {
					p |= lastEdge
				}
				edges = append(edges, p)
			}
		}
		t := uint64(c.Time)
		cdat = binary.BigEndian.AppendUint32(cdat, p1)
		cdat = binary.BigEndian.AppendUint32(cdat, p2)
		cdat = binary.BigEndian.AppendUint32(cdat, level[i]<<2|uint32(t>>32)&3)
		cdat = binary.BigEndian.AppendUint32(cdat, uint32(t))
		off := corrected[i] - c.Time
		if off > maxOffsetV2 {
			gda2 = binary.BigEndian.AppendUint32(gda2, offsetOverflow|uint32(len(overflow)))
			overflow = append(overflow, uint64(off))
		} else {
			gda2 = binary.BigEndian.AppendUint32(gda2, uint32(off))
		}
	}

	var fanout [fanoutLen]byte
	for i, c := range sorted {
		for b := int(c.ID[0]); b < 256; b++ {
			binary.BigEndian.PutUint32(fanout[4*b:], uint32(i+1))
		}
	}
	oidl := make([]byte, 0, n*hashLen)
	for _, c := range sorted {
		oidl = append(oidl, c.ID[:]...)
	}
	type chunkData struct {
		id   uint32
		data []byte
	}
	chunks := []chunkData{{chunkOIDF, fanout[:]}, {chunkOIDL, oidl}, {chunkCDAT, cdat}, {chunkGDA2, gda2}}
	if len(overflow) > 0 {
		var b []byte
		for _, o := range overflow {
			b = binary.BigEndian.AppendUint64(b, o)
		}
		chunks = append(chunks, chunkData{chunkGDO2, b})
	}
	if len(edges) > 0 {
		var b []byte
		for _, e := range edges {
			b = binary.BigEndian.AppendUint32(b, e)
		}
		chunks = append(chunks, chunkData{chunkEDGE, b})
	}

	h := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
	header := []byte{'C', 'G', 'P', 'H', 1, hashVersionV1, byte(len(chunks)), 0}
	bw.Write(header)
	off := uint64(headerLen + (len(chunks)+1)*tocEntryLen)
	var toc [tocEntryLen]byte
	for _, c := range chunks {
		binary.BigEndian.PutUint32(toc[:], c.id)
		binary.BigEndian.PutUint64(toc[4:], off)
		bw.Write(toc[:])
		off += uint64(len(c.data))
	}
	binary.BigEndian.PutUint32(toc[:], 0)
	binary.BigEndian.PutUint64(toc[4:], off)
	bw.Write(toc[:])
	for _, c := range chunks {
		bw.Write(c.data)
	}
	if err := bw.Flush(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commitgraph: write: %w", err)
	}
	var sum plumbing.Hash
	copy(sum[:], h.Sum(nil))
	if _, err := w.Write(sum[:]); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commitgraph: write: %w", err)
	}
	return sum, nil
}

// generations returns each commit's topological level (1 for a root, one
// more than its highest parent, capped as the CDAT field is) and its
// corrected commit date (its own time, or one more than its latest
// parent's corrected date when that is later). It visits parents before
// children without recursion, since histories run hundreds of thousands
// of commits deep.
func generations(commits []Entry, parents [][]uint32) (level []uint32, corrected []int64, err error) {
	n := len(commits)
	level = make([]uint32, n)
	corrected = make([]int64, n)
	const (
		unseen = iota
		open
		done
	)
	state := make([]uint8, n)
	var stack []uint32
	for root := range n {
		if state[root] == done {
			continue
		}
		stack = append(stack[:0], uint32(root))
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			if state[i] == unseen {
				state[i] = open
				for _, p := range parents[i] {
					switch state[p] {
					case unseen:
						stack = append(stack, p)
					case open:
						return nil, nil, fmt.Errorf("commitgraph: commit %s is its own ancestor", commits[p].ID)
					}
				}
				continue
			}
			stack = stack[:len(stack)-1]
			if state[i] == done {
				continue
			}
			lv, cd := uint32(1), commits[i].Time
			for _, p := range parents[i] {
				lv = max(lv, min(level[p]+1, maxGenerationV1))
				cd = max(cd, corrected[p]+1)
			}
			level[i], corrected[i], state[i] = lv, cd, done
		}
	}
	return level, corrected, nil
}

// WriteFile writes the commit-graph of commits as the single file
// objects/info/commit-graph of the repository whose objects directory is
// objectsDir, through a temporary file renamed into place, and removes a
// split chain that would otherwise describe older history beside it.
func WriteFile(objectsDir string, commits []Entry) error {
	info := filepath.Join(objectsDir, "info")
	if err := os.MkdirAll(info, 0o755); err != nil {
		return fmt.Errorf("commitgraph: %w", err)
	}
	tmp, err := os.CreateTemp(info, "tmp_graph_")
	if err != nil {
		return fmt.Errorf("commitgraph: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := Write(tmp, commits); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("commitgraph: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("commitgraph: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return fmt.Errorf("commitgraph: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(info, "commit-graph")); err != nil {
		return fmt.Errorf("commitgraph: %w", err)
	}
	// A single file is read before a chain, by git and by Open; the
	// chain would only be stale.
	return os.RemoveAll(filepath.Join(info, "commit-graphs"))
}
