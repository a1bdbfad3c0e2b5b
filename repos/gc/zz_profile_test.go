package gc

import (
	"context"
	"os"
	"testing"
)

func TestZZProfileGC(t *testing.T) {
	dir := os.Getenv("PROFILE_REPO")
	if dir == "" {
		t.Skip()
	}
	if err := Repack(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
}
