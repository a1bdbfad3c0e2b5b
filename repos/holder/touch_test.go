package holder

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTouch checks that Touch moves the file's time forward while it runs,
// puts a removed file back through onMissing, and stops for good when told.
func TestTouch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lease")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	missing := make(chan struct{}, 10)
	stop := Touch(path, 5*time.Millisecond, func() {
		missing <- struct{}{}
		os.WriteFile(path, []byte("x"), 0o644)
	})
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 10 s", what)
			}
		}
	}
	waitFor("touch", func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.ModTime().After(old.Add(time.Minute))
	})
	os.Remove(path)
	waitFor("call of onMissing", func() bool { return len(missing) > 0 })
	stop()
	stop()
	os.Chtimes(path, old, old)
	time.Sleep(30 * time.Millisecond)
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("after stop the file was touched again: %v, %v", fi.ModTime(), err)
	}
}
