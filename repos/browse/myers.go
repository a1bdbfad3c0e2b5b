package browse

// The line diff is Myers' O(ND) algorithm in linear space ("An O(ND)
// Difference Algorithm and Its Variations", 1986, section 4b): find the
// middle snake of the shortest edit script, split there, and recurse.
// As git's xdiff does (xdiffi.c, xdl_split), a search that passes a cost
// bound splits at its furthest-reaching point instead, so that two large
// unrelated files cost O((N+M)·bound) rather than O((N+M)·D); the script
// is then valid but may not be the shortest.

// lineDiff marks which lines of a are deleted and which of b inserted by
// an edit script from a to b. Lines are compared by their interned ids.
type lineDiff struct {
	a, b     []int
	del, ins []bool
	vf, vb   []int // the furthest x on each diagonal, forward and backward
	maxCost  int
}

// diffLines returns the marks of an edit script from a to b.
func diffLines(a, b []int) (del, ins []bool) {
	d := &lineDiff{a: a, b: b, del: make([]bool, len(a)), ins: make([]bool, len(b))}
	d.maxCost = max(256, isqrt(len(a)+len(b)))
	n := len(a) + len(b) + 3
	d.vf, d.vb = make([]int, 2*n+1), make([]int, 2*n+1)
	d.compare(0, len(a), 0, len(b))
	return d.del, d.ins
}

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

// compare marks an edit script from a[aLo:aHi] to b[bLo:bHi].
func (d *lineDiff) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo, bLo = aLo+1, bLo+1
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi, bHi = aHi-1, bHi-1
	}
	switch {
	case aLo == aHi:
		for j := bLo; j < bHi; j++ {
			d.ins[j] = true
		}
		return
	case bLo == bHi:
		for i := aLo; i < aHi; i++ {
			d.del[i] = true
		}
		return
	}
	x, y, u, v := d.split(aLo, aHi, bLo, bHi)
	if (x == aLo && y == bLo && u == aHi && v == bHi) || (u == aLo && v == bLo) || (x == aHi && y == bHi) {
		// No progress is possible only on a bug; fall back to replacing
		// the whole range rather than recursing for ever.
		for i := aLo; i < aHi; i++ {
			d.del[i] = true
		}
		for j := bLo; j < bHi; j++ {
			d.ins[j] = true
		}
		return
	}
	d.compare(aLo, x, bLo, y)
	d.compare(u, aHi, v, bHi)
}

// split returns a snake (x, y)–(u, v) of equal lines that lies on an
// edit script from a[aLo:aHi] to b[bLo:bHi]: the middle snake of a
// shortest one, or past the cost bound a point the forward search
// reached furthest (x == u, y == v). Both ranges are non-empty and their
// first and last lines differ.
func (d *lineDiff) split(aLo, aHi, bLo, bHi int) (x, y, u, v int) {
	n, m := aHi-aLo, bHi-bLo
	delta := n - m
	odd := delta&1 != 0
	off := (n+m+1)/2 + 1 // diagonals run from -off to off
	vf, vb := d.vf[:2*off+1], d.vb[:2*off+1]
	vf[off+1], vb[off+1] = 0, 0
	for cost := 0; cost <= (n+m+1)/2; cost++ {
		for k := -cost; k <= cost; k += 2 {
			var x int
			if k == -cost || (k != cost && vf[off+k-1] < vf[off+k+1]) {
				x = vf[off+k+1]
			} else {
				x = vf[off+k-1] + 1
			}
			y := x - k
			x0, y0 := x, y
			for x < n && y < m && d.a[aLo+x] == d.b[bLo+y] {
				x, y = x+1, y+1
			}
			vf[off+k] = x
			if kr := delta - k; odd && kr >= -(cost-1) && kr <= cost-1 && x+vb[off+kr] >= n {
				return aLo + x0, bLo + y0, aLo + x, bLo + y
			}
		}
		for k := -cost; k <= cost; k += 2 {
			var x int
			if k == -cost || (k != cost && vb[off+k-1] < vb[off+k+1]) {
				x = vb[off+k+1]
			} else {
				x = vb[off+k-1] + 1
			}
			y := x - k
			x0, y0 := x, y
			for x < n && y < m && d.a[aHi-1-x] == d.b[bHi-1-y] {
				x, y = x+1, y+1
			}
			vb[off+k] = x
			if kf := delta - k; !odd && kf >= -cost && kf <= cost && x+vf[off+kf] >= n {
				return aHi - x, bHi - y, aHi - x0, bHi - y0
			}
		}
		if cost >= d.maxCost {
			// Too costly to be worth the shortest script: split where
			// the forward search got furthest.
			best, bx, by := -1, 0, 0
			for k := -cost; k <= cost; k += 2 {
				x := vf[off+k]
				y := x - k
				if x > n || y < 0 || y > m {
					continue // off the grid, which no script crosses
				}
				if x+y > best && !(x == n && y == m) {
					best, bx, by = x+y, x, y
				}
			}
			return aLo + bx, bLo + by, aLo + bx, bLo + by
		}
	}
	return aLo, bLo, aHi, bHi // unreachable: the searches meet by cost (n+m+1)/2
}
