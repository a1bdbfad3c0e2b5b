package browse

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkHighlightGo(b *testing.B) {
	unit := "// Package x does things.\npackage x\n\nimport \"fmt\"\n\n// F prints n.\nfunc F(n int) string {\n\tif n > 10 {\n\t\treturn fmt.Sprintf(\"%d <big> & \\\"quoted\\\"\", n)\n\t}\n\treturn \"small\"\n}\n\n"
	for _, size := range []int{10 << 10, 100 << 10} {
		src := []byte(strings.Repeat(unit, size/len(unit)))
		b.Run(fmt.Sprint(size>>10, "KiB"), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Highlight("x.go", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
