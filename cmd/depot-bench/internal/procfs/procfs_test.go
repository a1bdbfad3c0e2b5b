package procfs

import (
	"errors"
	"os"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want int64
		err  bool
	}{
		{"OK", "1234 (depot) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 5 3 2 20 0 8 0 100 1000 200", 27, false},
		{"NameWithSpacesAndParens", "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 1 1 1", 10, false},
		{"NoName", "77 a R 1", 0, true},
		{"Short", "77 (x) R 1 2 3", 0, true},
		{"NotNumber", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 x 2 3 4 20", 0, true},
		{"Negative", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 -1 2 3 4 20", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.stat))
			if tt.err {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("ParseStatCPU(%q) error = %v; want ErrFormat", tt.stat, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStatCPU(%q) = %d, %v; want %d", tt.stat, got, err, tt.want)
			}
		})
	}
}

func TestParseKB(t *testing.T) {
	status := "Name:\tdepot\nVmPeak:\t  900 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\nBad:\t12 pages\n"
	tests := []struct {
		name, key string
		want      int64
		err       bool
	}{
		{"VmHWM", "VmHWM", 12345, false},
		{"VmRSS", "VmRSS", 100, false},
		{"Missing", "MemTotal", 0, true},
		{"NotKB", "Bad", 0, true},
		{"PrefixIsNotKey", "VmHW", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKB([]byte(status), tt.key)
			if tt.err != (err != nil) || got != tt.want {
				t.Fatalf("ParseKB(%q) = %d, %v; want %d (error %v)", tt.key, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseCPUModel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"X86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nmodel name\t: other\n", "AMD EPYC 7B13"},
		{"None", "processor\t: 0\nBogoMIPS\t: 50.00\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCPUModel([]byte(tt.in)); got != tt.want {
				t.Fatalf("ParseCPUModel = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestSelf reads this test process's own /proc files, so that the real
// formats are covered too.
func TestSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPUTime(pid); err != nil {
		t.Fatalf("CPUTime(self) = %v", err)
	}
	if err := ResetPeakRSS(pid); err != nil {
		t.Logf("ResetPeakRSS(self) = %v (kernel may not allow it)", err)
	}
	if n, err := PeakRSS(pid); err != nil || n <= 0 {
		t.Fatalf("PeakRSS(self) = %d, %v; want > 0", n, err)
	}
}
