package placement

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func equalNodes(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{Name: fmt.Sprintf("store-%02d", i+1), Weight: 1}
	}
	return nodes
}

func TestPlaceErrors(t *testing.T) {
	tests := []struct {
		name     string
		nodes    []Node
		replicas int
		want     error
	}{
		{"no replicas", equalNodes(3), 0, nil},
		{"too few nodes", equalNodes(2), 3, ErrTooFewNodes},
		{"drained nodes do not count", append(equalNodes(2), Node{Name: "drained", Weight: 0}), 3, ErrTooFewNodes},
		{"duplicate", []Node{{"a", 1}, {"b", 1}, {"a", 1}}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Place("owner/repo", tt.nodes, tt.replicas)
			if err == nil {
				t.Fatal("Place succeeded; want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Place = %v; want %v", err, tt.want)
			}
		})
	}
}

// TestPlaceStable: the answer depends on the set of nodes, not their
// order, and every replica is a distinct usable node.
func TestPlaceStable(t *testing.T) {
	nodes := append(equalNodes(6), Node{Name: "drained", Weight: 0})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		repo := fmt.Sprintf("owner%d/repo%d", i%37, i)
		want, err := Place(repo, nodes, 3)
		if err != nil {
			t.Fatal(err)
		}
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got, _ := Place(repo, shuffled, 3)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v with the nodes shuffled, %v before", repo, got, want)
		}
		if slices.Contains(got, "drained") || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 3 {
			t.Fatalf("%s: replicas %v; want 3 distinct usable nodes", repo, got)
		}
	}
}

// population is a simulated installation: repositories whose sizes follow
// a log-normal distribution (median 4 MiB, a long tail of monorepos), as
// the sizes of hosted repositories do.
type population struct {
	names []string
	sizes []float64 // MiB
}

func newPopulation(n int) population {
	rng := rand.New(rand.NewPCG(7, 11))
	p := population{names: make([]string, n), sizes: make([]float64, n)}
	for i := range n {
		p.names[i] = fmt.Sprintf("team%04d/repo%05d", rng.IntN(n/10+1), i)
		p.sizes[i] = math.Exp(math.Log(4) + 2*rng.NormFloat64())
	}
	return p
}

// layout is where every replica of every repository is.
type layout [][]string

func place(t *testing.T, p population, nodes []Node, replicas int) layout {
	t.Helper()
	l := make(layout, len(p.names))
	for i, name := range p.names {
		r, err := Place(name, nodes, replicas)
		if err != nil {
			t.Fatal(err)
		}
		l[i] = r
	}
	return l
}

// load returns the replicas and MiB each node holds.
func (l layout) load(p population) (count, mib map[string]float64) {
	count, mib = map[string]float64{}, map[string]float64{}
	for i, rs := range l {
		for _, n := range rs {
			count[n]++
			mib[n] += p.sizes[i]
		}
	}
	return count, mib
}

// imbalance is the largest value over the mean.
func imbalance(m map[string]float64) float64 {
	var sum, most float64
	for _, v := range m {
		sum += v
		most = max(most, v)
	}
	return most / (sum / float64(len(m)))
}

// moved counts the replicas of after that before did not have on the same
// node, and their MiB.
func moved(p population, before, after layout) (replicas int, mib float64) {
	for i := range before {
		for _, n := range after[i] {
			if !slices.Contains(before[i], n) {
				replicas++
				mib += p.sizes[i]
			}
		}
	}
	return replicas, mib
}

// TestSimulation places 10,000 repositories of log-normal sizes on eight
// equal storage nodes with three replicas each, then adds a ninth node,
// removes one, loses one, and gives one twice the capacity, and checks
// that the routing does what docs/scaling.md promises of it: even spread,
// and the least data moved that a change can move.
//
//	go test ./repos/placement -run TestSimulation -v
func TestSimulation(t *testing.T) {
	const repos, replicas = 10_000, 3
	p := newPopulation(repos)
	var total float64
	for _, s := range p.sizes {
		total += s
	}
	nodes := equalNodes(8)
	base := place(t, p, nodes, replicas)
	count, mib := base.load(p)
	t.Logf("%d repositories, %.0f GiB, %d replicas each, on %d nodes: replicas per node max/mean %.3f, data per node max/mean %.3f",
		repos, total/1024, replicas, len(nodes), imbalance(count), imbalance(mib))
	if imbalance(count) > 1.05 {
		t.Errorf("replicas per node max/mean = %.3f; want at most 1.05", imbalance(count))
	}
	// Data is as uneven as the largest repositories make it: a placement
	// by name cannot see sizes, which the routing table's exceptions
	// (a repository moved by hand or by a balancer) correct.
	if imbalance(mib) > 1.35 {
		t.Errorf("data per node max/mean = %.3f; want at most 1.35", imbalance(mib))
	}

	// A ninth node: it should take a ninth of every replica, and nothing
	// else should move.
	grown := place(t, p, append(slices.Clone(nodes), Node{Name: "store-09", Weight: 1}), replicas)
	n, m := moved(p, base, grown)
	ideal := float64(repos*replicas) / 9
	t.Logf("adding a ninth node moves %d replicas (%.1f%%; the least possible is %.1f%%), %.0f GiB",
		n, 100*float64(n)/float64(repos*replicas), 100.0/9, m/1024)
	if r := float64(n) / ideal; r < 0.9 || r > 1.1 {
		t.Errorf("adding a node moved %d replicas; want about %.0f", n, ideal)
	}
	gc, _ := grown.load(p)
	for name, c := range gc {
		if name != "store-09" && c > count[name] {
			t.Errorf("%s gained replicas when a node was added", name)
		}
	}

	// Removing (draining) a node moves exactly its replicas.
	drained := slices.Clone(nodes)
	drained[2].Weight = 0
	shrunk := place(t, p, drained, replicas)
	n, m = moved(p, base, shrunk)
	t.Logf("draining one node moves %d replicas (exactly the %v it held), %.0f GiB", n, count["store-03"], m/1024)
	if float64(n) != count["store-03"] {
		t.Errorf("draining store-03 moved %d replicas; it held %v", n, count["store-03"])
	}

	// Losing a node: its primaries' reads go to their next replica. The
	// extra read load spreads over the others rather than onto one.
	primaries := map[string]float64{}
	lost := 0
	for _, rs := range base {
		if rs[0] == "store-05" {
			primaries[rs[1]]++
			lost++
		}
	}
	t.Logf("losing a node: its %d primaries fail over to %d nodes, the busiest taking %.0f%% of them",
		lost, len(primaries), 100*maxShare(primaries))
	if len(primaries) != 7 || maxShare(primaries) > 0.25 {
		t.Errorf("a lost node's primaries fail over to %d nodes, the busiest taking %.0f%%; want all 7, none above 25%%", len(primaries), 100*maxShare(primaries))
	}

	// A node of twice the capacity is the primary of about twice as many
	// repositories. Its share of all replicas is less than double: a node
	// holds at most one replica of a repository, and the later replicas
	// go to the best of the others.
	weighted := slices.Clone(nodes)
	weighted[0].Weight = 2
	wl := place(t, p, weighted, replicas)
	wc, _ := wl.load(p)
	first := map[string]float64{}
	for _, rs := range wl {
		first[rs[0]]++
	}
	share := func(m map[string]float64) float64 {
		var others float64
		for name, c := range m {
			if name != "store-01" {
				others += c
			}
		}
		return m["store-01"] / (others / 7)
	}
	t.Logf("a node of weight 2 is the primary of %.2f times the repositories of a node of weight 1, and holds %.2f times the replicas",
		share(first), share(wc))
	if r := share(first); r < 1.8 || r > 2.2 {
		t.Errorf("a node of weight 2 is the primary of %.2f times an equal node's repositories; want about 2", r)
	}
	if r := share(wc); r < 1.3 || r >= share(first) {
		t.Errorf("a node of weight 2 holds %.2f times an equal node's replicas; want more than 1.3, less than its primaries' %.2f", r, share(first))
	}
}

func maxShare(m map[string]float64) float64 {
	var sum, most float64
	for _, v := range m {
		sum += v
		most = max(most, v)
	}
	return most / sum
}
