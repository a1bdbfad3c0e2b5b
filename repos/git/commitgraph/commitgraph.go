// Package commitgraph reads git's commit-graph files
// (gitformat-commit-graph(5)), so that a commit's tree, parents and commit
// time can be had without inflating the commit object.
package commitgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/depot/depot/repos/git/object"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrCorrupt is wrapped by every error about a malformed commit-graph.
var ErrCorrupt = errors.New("commitgraph: corrupt commit-graph")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Parent words of the CDAT chunk: parentNone marks a missing parent; in the
// second word lastEdge marks an index into the EDGE chunk, and in an EDGE
// entry it marks the last parent.
const (
	parentNone = 0x70000000
	lastEdge   = 0x80000000
)

// maxChainSize bounds the chain file read into memory: 41 bytes a layer,
// and git merges layers long before there are thousands.
const maxChainSize = 1 << 20

// Graph is an open commit-graph: a single file (objects/info/commit-graph)
// or a split chain (objects/info/commit-graphs/commit-graph-chain listing
// graph-{hash}.graph files, base first). It is safe for concurrent use
// (but not concurrently with Close). The OIDs are mapped read-only and
// commit data is read with pread, so an open graph holds no heap that
// grows with the history.
type Graph struct {
	layers []*layer // base first; layers[i].base is the sum of the n below
}

// Open opens the commit-graph of the bare repository's objects directory
// objectsDir (e.g. /x/repo.git/objects). It returns (nil, nil) when the
// repository has no commit-graph. A malformed file returns an error
// wrapping ErrCorrupt; a SHA-256 graph one wrapping errors.ErrUnsupported.
// As git does, a single commit-graph file is preferred to a chain.
func Open(objectsDir string) (*Graph, error) {
	info := filepath.Join(objectsDir, "info")
	path := filepath.Join(info, "commit-graph")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return openChain(filepath.Join(info, "commit-graphs"))
	}
	if err != nil {
		return nil, fmt.Errorf("commitgraph: %w", err)
	}
	l, err := openLayer(f, path, 0, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Graph{layers: []*layer{l}}, nil
}

// openChain opens the split commit-graph in dir, or returns nil when there
// is no chain file.
func openChain(dir string) (*Graph, error) {
	hashes, err := readChain(filepath.Join(dir, "commit-graph-chain"))
	if hashes == nil || err != nil {
		return nil, err
	}
	g := &Graph{}
	for i, h := range hashes {
		l, err := openChainLayer(dir, h, hashes[:i], uint32(g.Len()))
		if err != nil {
			g.Close()
			return nil, err
		}
		g.layers = append(g.layers, l)
	}
	return g, nil
}

// readChain returns the layer hashes listed in the chain file at path, base
// first, or nil when there is no chain file.
func readChain(path string) ([]plumbing.Hash, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("commitgraph: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxChainSize+1))
	if err != nil {
		return nil, fmt.Errorf("commitgraph: read %s: %w", path, err)
	}
	if len(b) > maxChainSize {
		return nil, corruptf("%s: larger than %d bytes", path, maxChainSize)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, corruptf("%s: empty chain", path)
	}
	var hashes []plumbing.Hash
	for i, line := range strings.Split(s, "\n") {
		// The hash becomes a file name, so it must be exactly a hash.
		h, ok := object.ParseHex(line)
		if !ok {
			return nil, corruptf("%s: line %d is not a hash", path, i+1)
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// openChainLayer opens the layer h of a chain, above the layers bases
// holding base commits. A layer's name is its checksum, which git checks
// so that a layer rewritten in place is not read against the wrong bases.
func openChainLayer(dir string, h plumbing.Hash, bases []plumbing.Hash, base uint32) (*layer, error) {
	path := filepath.Join(dir, "graph-"+h.String()+".graph")
	f, err := os.Open(path)
	if err != nil {
		// The chain names the file, so its absence is corruption too.
		return nil, fmt.Errorf("%w: chain layer: %w", ErrCorrupt, err)
	}
	l, err := openLayer(f, path, base, bases)
	if err != nil {
		f.Close()
		return nil, err
	}
	if l.sum != h {
		l.close()
		return nil, corruptf("%s: checksum is %s", path, l.sum)
	}
	return l, nil
}

// Close releases the files. A nil Graph, as Open returns for a repository
// without a commit-graph, may be closed too.
func (g *Graph) Close() error {
	if g == nil {
		return nil
	}
	var errs []error
	for _, l := range g.layers {
		errs = append(errs, l.close())
	}
	g.layers = nil
	return errors.Join(errs...)
}

// Len returns the number of commits across all layers.
func (g *Graph) Len() int {
	if g == nil || len(g.layers) == 0 {
		return 0
	}
	top := g.layers[len(g.layers)-1]
	return int(top.base) + int(top.n)
}

// Commit is what the graph records of one commit.
type Commit struct {
	Tree       plumbing.Hash
	Parents    []plumbing.Hash
	Time       int64  // committer time, seconds since the epoch
	Generation uint32 // topological level (generation number v1) from CDAT, 0 if unknown
}

// Lookup returns the commit h as recorded, and false when the graph does
// not hold h (or g is nil). It handles octopus merges through the EDGE
// chunk and parent positions that point into base layers of a split chain
// (global position numbering: base layer first). Errors (wrapping
// ErrCorrupt) only for malformed data met during the lookup.
func (g *Graph) Lookup(h plumbing.Hash) (Commit, bool, error) {
	if g == nil {
		return Commit{}, false, nil
	}
	// The top layer holds the newest commits, which are looked up most.
	for i := len(g.layers) - 1; i >= 0; i-- {
		l := g.layers[i]
		if pos, ok := l.find(h); ok {
			c, err := g.commit(l, pos)
			if err != nil {
				return Commit{}, false, fmt.Errorf("commitgraph: commit %s: %w", h, err)
			}
			return c, true, nil
		}
	}
	return Commit{}, false, nil
}

// commit decodes the CDAT record of the commit at position pos of l.
func (g *Graph) commit(l *layer, pos uint32) (Commit, error) {
	var rec [cdatLen]byte
	if err := l.readAt(rec[:], l.cdat+int64(pos)*cdatLen); err != nil {
		return Commit{}, err
	}
	var c Commit
	copy(c.Tree[:], rec[:hashLen])
	// The generation takes the upper 30 bits of its word; the lower 2 are
	// bits 33 and 34 of the commit time, so dates past 2106 fit.
	gen := binary.BigEndian.Uint32(rec[hashLen+8:])
	c.Generation = gen >> 2
	c.Time = int64(gen&3)<<32 | int64(binary.BigEndian.Uint32(rec[hashLen+12:]))
	var buf [2]uint32
	positions, err := l.parentPositions(&rec, buf[:0])
	if err != nil || len(positions) == 0 {
		return c, err
	}
	c.Parents = make([]plumbing.Hash, len(positions))
	for i, p := range positions {
		m := g.layerOf(p) // below l's top, so a layer holds it
		copy(c.Parents[i][:], m.oid(p-m.base))
	}
	return c, nil
}

// edgeBatch is how many EDGE entries one pread fetches: octopus merges
// rarely have more parents than that.
const edgeBatch = 16

// parentPositions appends to out the global positions of the parents of
// the commit whose CDAT record of l is rec, in the commit's order: its two
// parent words, the second of which may lead into the EDGE chunk for the
// second and later parents of an octopus merge, up to an entry with the
// lastEdge bit. As in git, no first parent means no parents at all. A
// layer refers only to itself and the layers below it, so every position
// is below l.base+l.n.
func (l *layer) parentPositions(rec *[cdatLen]byte, out []uint32) ([]uint32, error) {
	limit := l.base + l.n
	add := func(p uint32) error {
		if p >= limit {
			return l.corruptf("parent position %#x out of %d commits", p, limit)
		}
		out = append(out, p)
		return nil
	}
	first, second := binary.BigEndian.Uint32(rec[hashLen:]), binary.BigEndian.Uint32(rec[hashLen+4:])
	if first == parentNone {
		return out, nil
	}
	if err := add(first); err != nil {
		return out, err
	}
	switch {
	case second == parentNone:
		return out, nil
	case second&lastEdge == 0:
		return out, add(second)
	}
	var buf [4 * edgeBatch]byte
	for i := second &^ lastEdge; ; {
		if i >= l.edges {
			return out, l.corruptf("EDGE entry %d out of %d", i, l.edges)
		}
		k := min(l.edges-i, edgeBatch)
		if err := l.readAt(buf[:4*k], l.edge+4*int64(i)); err != nil {
			return out, err
		}
		for j := range k {
			v := binary.BigEndian.Uint32(buf[4*j:])
			if err := add(v &^ lastEdge); err != nil {
				return out, err
			}
			if v&lastEdge != 0 {
				return out, nil
			}
		}
		i += k
	}
}

// layerOf returns the layer that holds global position pos, or nil when
// pos is past the top layer.
func (g *Graph) layerOf(pos uint32) *layer {
	for _, m := range g.layers {
		if pos >= m.base && pos-m.base < m.n {
			return m
		}
	}
	return nil
}

// Position returns the global position of commit h in the graph (the
// base layer's commits first), and false when the graph does not hold h
// (or g is nil). Positions let a walk over the whole history mark commits
// in a bitmap and read parents without a hash lookup each
// (ParentPositions).
func (g *Graph) Position(h plumbing.Hash) (uint32, bool) {
	if g == nil {
		return 0, false
	}
	for i := len(g.layers) - 1; i >= 0; i-- {
		l := g.layers[i]
		if pos, ok := l.find(h); ok {
			return l.base + pos, true
		}
	}
	return 0, false
}

// ParentPositions appends the global positions of the parents of the
// commit at global position pos to out, in the commit's order.
func (g *Graph) ParentPositions(pos uint32, out []uint32) ([]uint32, error) {
	l := g.layerOf(pos)
	if l == nil {
		return out, fmt.Errorf("%w: commit position %d out of %d", ErrCorrupt, pos, g.Len())
	}
	var rec [cdatLen]byte
	if err := l.readAt(rec[:], l.cdat+int64(pos-l.base)*cdatLen); err != nil {
		return out, err
	}
	return l.parentPositions(&rec, out)
}
