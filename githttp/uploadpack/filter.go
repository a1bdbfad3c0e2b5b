package uploadpack

import (
	"strconv"
	"strings"

	"github.com/depot/depot/githttp/pktline"
)

// filterSpec is a partial-clone object filter (git rev-list --filter, see
// gitprotocol-capabilities "filter"). Objects the client names in a want are
// sent whatever the filter says.
type filterSpec struct {
	blobNone  bool
	blobLimit int64 // omit blobs of at least this many bytes; -1 when unset
	treeDepth int   // omit trees and blobs at this depth or deeper; -1 when unset
}

// parseFilter parses blob:none, blob:limit=<n>[kmg] and tree:<depth>.
func parseFilter(spec string) (*filterSpec, error) {
	f := &filterSpec{blobLimit: -1, treeDepth: -1}
	switch {
	case spec == "blob:none":
		f.blobNone = true
	case strings.HasPrefix(spec, "blob:limit="):
		n, ok := parseSize(strings.TrimPrefix(spec, "blob:limit="))
		if !ok {
			return nil, pktline.Errorf("invalid filter %q", spec)
		}
		f.blobLimit = n
	case strings.HasPrefix(spec, "tree:"):
		d, err := strconv.Atoi(strings.TrimPrefix(spec, "tree:"))
		if err != nil || d < 0 {
			return nil, pktline.Errorf("invalid filter %q", spec)
		}
		f.treeDepth = d
	default:
		return nil, pktline.Errorf("filter %q is not supported", pktline.Printable([]byte(spec)))
	}
	return f, nil
}

// parseSize parses a byte count with an optional k, m or g suffix (powers of
// 1024, as git_parse_ulong does).
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}

// omitTree reports whether a tree at depth (the root tree is 0) is filtered.
func (f *filterSpec) omitTree(depth int) bool {
	return f != nil && f.treeDepth >= 0 && depth >= f.treeDepth
}

// omitBlob reports whether a blob at depth (entries of the root tree are 1)
// is filtered. size is called only when the size matters.
func (f *filterSpec) omitBlob(depth int, size func() (int64, error)) (bool, error) {
	switch {
	case f == nil:
		return false, nil
	case f.blobNone:
		return true, nil
	case f.treeDepth >= 0:
		return depth >= f.treeDepth, nil
	case f.blobLimit >= 0:
		n, err := size()
		if err != nil {
			return false, err
		}
		return n >= f.blobLimit, nil
	}
	return false, nil
}
