package holder

import (
	"errors"
	"fmt"
	"os/exec"
	"testing"
)

// TestParseGone reads what lock and lease files hold and tells which
// holders are known to be gone: only processes of this host.
func TestParseGone(t *testing.T) {
	self := Self()
	live := exec.Command("sleep", "30")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		content  string
		wantErr  bool
		wantGone bool
	}{
		{"Self", self.String() + "\n", false, false},
		{"SelfEarlierRun", fmt.Sprintf("%d %s earlier\n", self.PID, self.Host), false, true},
		{"ThisHostLive", fmt.Sprintf("%d %s r\n", live.Process.Pid, self.Host), false, false},
		{"ThisHostEnded", fmt.Sprintf("%d %s r\n", ended.Process.Pid, self.Host), false, true},
		{"OtherHost", fmt.Sprintf("%d other/boot/ns r\n", ended.Process.Pid), false, false},
		{"PidOnlyEnded", fmt.Sprintf("%d\n", ended.Process.Pid), false, true},
		{"PidOnlyLive", fmt.Sprintf("%d\n", live.Process.Pid), false, false},
		{"PidOnlySelf", fmt.Sprintf("%d\n", self.PID), false, true},
		{"Empty", "", true, false},
		{"NotAPid", "x host r\n", true, false},
		{"ZeroPid", "0 host r\n", true, false},
		{"TwoFields", "12 host\n", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse([]byte(tc.content))
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) = %v, %v; want ErrMalformed", tc.content, h, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.content, err)
			}
			if got := h.Gone(); got != tc.wantGone {
				t.Errorf("Parse(%q).Gone() = %v; want %v", tc.content, got, tc.wantGone)
			}
		})
	}
	if h, err := Parse([]byte(self.String())); err != nil || h != self {
		t.Errorf("Parse(String()) = %v, %v; want %v", h, err, self)
	}
}
