package uploadpack

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNegotiateOnly runs git fetch --negotiate-only, the negotiation that
// git push does first with push.negotiate: the client sends wait-for-done
// and prints the commits the server acknowledged, without a pack.
func TestNegotiateOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := f.git
	client, _ := f.clone(t, 2)
	// The client builds on main; the server moves main on too.
	writeFile(t, filepath.Join(client, "client.txt"), "mine\n")
	g.commitAt(client, fixtureBase+100*day, "client work")
	writeFile(t, filepath.Join(f.src, "server.txt"), "theirs\n")
	f.commit("server work")
	f.push("main")
	tests := []struct {
		name string
		tip  string
		want string // the commit the server must acknowledge
	}{
		{"ClientAhead", "HEAD", f.main[5]},
		{"OlderTip", "HEAD~3", f.main[3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tip := g.run(client, "rev-parse", tt.tip)
			out, stderr, err := g.try(client, nil, "-c", "protocol.version=2", "fetch", "--no-tags",
				"--negotiate-only", "--negotiation-tip="+tip, "origin")
			if err != nil {
				t.Fatalf("git fetch --negotiate-only: %v\n%s", err, stderr)
			}
			if strings.Contains(stderr, "wait-for-done") {
				t.Errorf("stderr: %s", stderr)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("--negotiate-only printed %q; want %s among the common commits", out, tt.want)
			}
			if got := g.run(client, "rev-parse", "origin/main"); got != f.main[5] {
				t.Errorf("origin/main = %s after --negotiate-only; want it unchanged at %s", got, f.main[5])
			}
		})
	}
}
