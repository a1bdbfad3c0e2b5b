package browse

import (
	"bytes"
)

// Context is the number of unchanged lines a hunk shows around a change,
// git's default.
const Context = 3

// LineKind says what a diff line does.
type LineKind uint8

// The kinds of diff line.
const (
	LineContext LineKind = iota + 1
	LineAdded
	LineDeleted
)

// Line is one line of a hunk.
type Line struct {
	Kind LineKind
	// OldNo and NewNo are 1-based line numbers in the old and new file;
	// 0 on the side the line is not in.
	OldNo, NewNo int
	// Text is the line without its newline.
	Text string
	// NoNewline marks a last line that has no newline: git's
	// "\ No newline at end of file".
	NoNewline bool
}

// Hunk is one hunk of a unified diff.
type Hunk struct {
	// OldStart and NewStart are as the hunk header writes them: the first
	// line's number, or when the side has no lines the number of the line
	// before.
	OldStart, OldLines, NewStart, NewLines int
	Lines                                  []Line
}

// change is one run of deleted and inserted lines: a[i:i+n] became
// b[j:j+m].
type change struct{ i, n, j, m int }

// splitLines splits b into lines, each with its newline; the last one
// may lack it.
func splitLines(b []byte) [][]byte {
	lines := make([][]byte, 0, bytes.Count(b, []byte{'\n'})+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, b)
			break
		}
		lines = append(lines, b[:i+1])
		b = b[i+1:]
	}
	return lines
}

// diffText returns the hunks that turn old into new, and the lines added
// and deleted. Lines compare with their newline, so a last line that
// gains or loses one changes, as in git.
func diffText(old, new []byte) (hunks []Hunk, adds, dels int) {
	a, b := splitLines(old), splitLines(new)
	ids := make(map[string]int, len(a)+len(b))
	intern := func(lines [][]byte) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[string(l)]
			if !ok {
				id = len(ids)
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	del, ins := diffLines(intern(a), intern(b))
	var changes []change
	for i, j := 0, 0; i < len(a) || j < len(b); {
		if i < len(a) && j < len(b) && !del[i] && !ins[j] {
			i, j = i+1, j+1
			continue
		}
		c := change{i: i, j: j}
		for ; i < len(a) && del[i]; i++ {
			c.n++
		}
		for ; j < len(b) && ins[j]; j++ {
			c.m++
		}
		changes = append(changes, c)
		adds += c.m
		dels += c.n
	}
	return hunksOf(a, b, changes), adds, dels
}

// hunksOf groups changes into hunks with Context lines around them; two
// changes at most 2·Context lines apart share a hunk, as in git
// (xemit.c, xdl_get_hunk).
func hunksOf(a, b [][]byte, changes []change) []Hunk {
	var hunks []Hunk
	for k := 0; k < len(changes); {
		last := k
		for last+1 < len(changes) && changes[last+1].i-(changes[last].i+changes[last].n) <= 2*Context {
			last++
		}
		first := changes[k]
		end := changes[last]
		i0 := max(first.i-Context, 0)
		j0 := first.j - (first.i - i0)
		i1 := min(end.i+end.n+Context, len(a))
		j1 := end.j + end.m + (i1 - (end.i + end.n))
		h := Hunk{OldLines: i1 - i0, NewLines: j1 - j0}
		h.OldStart, h.NewStart = i0+1, j0+1
		if h.OldLines == 0 {
			h.OldStart = i0
		}
		if h.NewLines == 0 {
			h.NewStart = j0
		}
		i, j := i0, j0
		for c := k; c <= last; c++ {
			ch := changes[c]
			for ; i < ch.i; i, j = i+1, j+1 {
				h.Lines = append(h.Lines, lineOf(LineContext, i+1, j+1, a[i]))
			}
			for ; i < ch.i+ch.n; i++ {
				h.Lines = append(h.Lines, lineOf(LineDeleted, i+1, 0, a[i]))
			}
			for ; j < ch.j+ch.m; j++ {
				h.Lines = append(h.Lines, lineOf(LineAdded, 0, j+1, b[j]))
			}
		}
		for ; i < i1; i, j = i+1, j+1 {
			h.Lines = append(h.Lines, lineOf(LineContext, i+1, j+1, a[i]))
		}
		hunks = append(hunks, h)
		k = last + 1
	}
	return hunks
}

func lineOf(kind LineKind, oldNo, newNo int, text []byte) Line {
	l := Line{Kind: kind, OldNo: oldNo, NewNo: newNo}
	if t, ok := bytes.CutSuffix(text, []byte{'\n'}); ok {
		l.Text = string(t)
	} else {
		l.Text, l.NoNewline = string(text), true
	}
	return l
}
