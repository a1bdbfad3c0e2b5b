package receivepack

import (
	"os"
	"testing"
	"time"
)

// TestTouchQuarantine: a live quarantine's directory is touched, so a
// node starting beside this one keeps it; once discarded, no more.
func TestTouchQuarantine(t *testing.T) {
	defer func(d time.Duration) { touchEvery = d }(touchEvery)
	touchEvery = 10 * time.Millisecond
	dir := t.TempDir()
	past := time.Now().Add(-time.Hour)
	os.Chtimes(dir, past, past)
	stop := touchQuarantine(dir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(fi.ModTime()) < time.Minute {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("quarantine not touched within 5 s: mtime %v", fi.ModTime())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	stop() // twice is harmless: discard may follow a failed keep
	os.Chtimes(dir, past, past)
	time.Sleep(5 * touchEvery)
	if fi, _ := os.Stat(dir); !fi.ModTime().Equal(past) {
		t.Errorf("touched after stop: mtime %v", fi.ModTime())
	}
}
