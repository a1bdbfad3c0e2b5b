// Package placement decides which storage nodes hold a repository once
// depot outgrows one shared file system: each repository lives on a few
// nodes (its replicas), chosen by weighted rendezvous hashing over the
// nodes' names and capacities. Every depot node computes the same answer
// from the same node list, so the routing table need only record the
// nodes and the exceptions (a repository being moved), not a row per
// repository; adding a node moves only the replicas that now score
// highest on it, about replicas/(n+1) of them, and removing one moves only
// its own. docs/scaling.md describes the design this is the first part of.
package placement

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
)

// Node is a storage node.
type Node struct {
	// Name identifies the node; it must be unique and stable, since every
	// placement hashes it.
	Name string
	// Weight is the node's capacity relative to the others (1 for equal
	// nodes): it is the primary of a share of the repositories in that
	// proportion. Its share of all replicas grows less than in
	// proportion, since a node holds at most one replica of a
	// repository. A node of weight 0 is drained: it holds nothing.
	Weight float64
}

// ErrTooFewNodes is returned when fewer nodes than replicas can hold data.
var ErrTooFewNodes = errors.New("placement: fewer usable nodes than replicas")

// Place returns the names of the replicas nodes that hold repo, best
// first: the first is its primary. The answer depends only on repo and
// the set of nodes, not on their order.
func Place(repo string, nodes []Node, replicas int) ([]string, error) {
	if replicas < 1 {
		return nil, fmt.Errorf("placement: %d replicas", replicas)
	}
	type scored struct {
		name  string
		score float64
	}
	cands := make([]scored, 0, len(nodes))
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if seen[n.Name] {
			return nil, fmt.Errorf("placement: node %q listed twice", n.Name)
		}
		seen[n.Name] = true
		if n.Weight <= 0 || math.IsNaN(n.Weight) || math.IsInf(n.Weight, 0) {
			continue
		}
		cands = append(cands, scored{n.Name, score(repo, n)})
	}
	if len(cands) < replicas {
		return nil, ErrTooFewNodes
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].name < cands[j].name
	})
	out := make([]string, replicas)
	for i := range out {
		out[i] = cands[i].name
	}
	return out, nil
}

// score is the weighted rendezvous score of repo on n: -w/ln(u) for u the
// hash of both mapped into (0, 1), whose ranking gives each node a share
// of first places proportional to its weight (Schindelhauer and
// Schomaker's weighted distributed hash tables).
func score(repo string, n Node) float64 {
	h := fnv.New64a()
	h.Write([]byte(n.Name))
	h.Write([]byte{0})
	h.Write([]byte(repo))
	u := (float64(mix(h.Sum64())>>11) + 0.5) / (1 << 53)
	return -n.Weight / math.Log(u)
}

// mix spreads FNV's output over all 64 bits (the finaliser of
// SplitMix64), which the low bits of short keys otherwise lack.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
