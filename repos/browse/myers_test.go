package browse

import (
	"math/rand/v2"
	"testing"
)

// lcs is the length of the longest common subsequence of a and b, by the
// textbook dynamic programme: the yardstick of a shortest edit script.
func lcs(a, b []int) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkScript fails unless the marks are an edit script from a to b: the
// lines of a left unmarked are those of b left unmarked, in order.
func checkScript(t *testing.T, a, b []int, del, ins []bool) (cost int) {
	t.Helper()
	var keptA, keptB []int
	for i, x := range a {
		if del[i] {
			cost++
		} else {
			keptA = append(keptA, x)
		}
	}
	for j, y := range b {
		if ins[j] {
			cost++
		} else {
			keptB = append(keptB, y)
		}
	}
	if len(keptA) != len(keptB) {
		t.Fatalf("diffLines(%v, %v) keeps %d lines of a and %d of b", a, b, len(keptA), len(keptB))
	}
	for i := range keptA {
		if keptA[i] != keptB[i] {
			t.Fatalf("diffLines(%v, %v) keeps different lines at %d", a, b, i)
		}
	}
	return cost
}

func TestDiffLinesShortest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name     string
		maxLen   int
		alphabet int
		rounds   int
	}{
		{"tiny", 6, 2, 2000},
		{"small alphabet", 40, 3, 1000},
		{"large alphabet", 60, 20, 500},
		{"long", 300, 4, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.rounds {
				a := randomLines(rng, rng.IntN(tc.maxLen+1), tc.alphabet)
				b := randomLines(rng, rng.IntN(tc.maxLen+1), tc.alphabet)
				if rng.IntN(2) == 0 { // b an edit of a, as most diffs are
					b = mutate(rng, a, tc.alphabet)
				}
				del, ins := diffLines(a, b)
				cost := checkScript(t, a, b, del, ins)
				if want := len(a) + len(b) - 2*lcs(a, b); cost != want {
					t.Fatalf("diffLines(%v, %v) costs %d; the shortest script costs %d", a, b, cost, want)
				}
			}
		})
	}
}

// TestDiffLinesCostBound diffs unrelated inputs past the cost bound: the
// script may be longer than the shortest but must be valid.
func TestDiffLinesCostBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name     string
		n, m     int
		alphabet int
	}{
		{"unrelated", 3000, 3000, 1000},
		{"similar alphabet", 4000, 2500, 5},
		{"one side longer", 100, 5000, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := randomLines(rng, tc.n, tc.alphabet), randomLines(rng, tc.m, tc.alphabet)
			del, ins := diffLines(a, b)
			checkScript(t, a, b, del, ins)
		})
	}
}

func randomLines(rng *rand.Rand, n, alphabet int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = rng.IntN(alphabet)
	}
	return s
}

// mutate returns a with a few lines deleted, inserted or replaced.
func mutate(rng *rand.Rand, a []int, alphabet int) []int {
	b := append([]int(nil), a...)
	for range rng.IntN(5) {
		i := rng.IntN(len(b) + 1)
		switch rng.IntN(3) {
		case 0:
			if i < len(b) {
				b = append(b[:i], b[i+1:]...)
			}
		case 1:
			b = append(b[:i], append([]int{rng.IntN(alphabet)}, b[i:]...)...)
		default:
			if i < len(b) {
				b[i] = rng.IntN(alphabet)
			}
		}
	}
	return b
}
