package repos

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRemoveLeftovers: a repository half made by Create, one half removed
// by DeleteWithRecord and a lock inside a repository go; the repositories
// and what else lives beside them stay.
func TestRemoveLeftovers(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Create("tester", "app", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owner := filepath.Join(d.Root(), "tester")
	made := []string{
		filepath.Join(owner, ".half.tmp-123"),
		filepath.Join(owner, ".deleted-old-456"),
		filepath.Join(r.Path, "refs", "heads", "main.lock"),
	}
	for _, p := range made[:2] {
		if err := os.MkdirAll(filepath.Join(p, "objects"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(made[2], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(owner, "notes.txt")
	os.WriteFile(notes, nil, 0o644)

	removed, err := d.RemoveLeftovers()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(made)
	if !slices.Equal(removed, made) {
		t.Fatalf("removed %v; want %v", removed, made)
	}
	for _, p := range []string{notes, filepath.Join(r.Path, "HEAD")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s went: %v", p, err)
		}
	}
	if _, err := d.Open("tester", "app"); err != nil {
		t.Errorf("Open after RemoveLeftovers: %v", err)
	}
}
