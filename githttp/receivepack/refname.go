package receivepack

import (
	"fmt"
	"strings"
)

// checkRefName applies the rules of git-check-ref-format(1) to a full ref
// name, which must also start with "refs/". It returns nil for a valid name.
func checkRefName(name string) error {
	if !strings.HasPrefix(name, "refs/") {
		return fmt.Errorf("ref name must start with refs/")
	}
	if strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return fmt.Errorf("empty path component")
	}
	if strings.HasSuffix(name, ".") {
		return fmt.Errorf("ends with a dot")
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return fmt.Errorf("contains '..' or '@{'")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Errorf("contains a forbidden character %q", c)
		}
	}
	for _, comp := range strings.Split(name, "/") {
		if strings.HasPrefix(comp, ".") {
			return fmt.Errorf("path component starts with a dot")
		}
		if strings.HasSuffix(comp, ".lock") {
			return fmt.Errorf("path component ends with .lock")
		}
	}
	return nil
}
