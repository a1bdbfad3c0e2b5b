package main

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "100MiB", want: 100 << 20},
		{in: "100 MiB", want: 100 << 20},
		{in: "2MB", want: 2_000_000},
		{in: "1GiB", want: 1 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "512k", want: 512 << 10},
		{in: "4096", want: 4096},
		{in: "10b", want: 10},
		{in: "1tb", want: 1e12},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "12 parsecs", bad: true},
		{in: "-1MiB", bad: true},
		{in: "1e3", bad: true},
		{in: "99999999999TiB", bad: true},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseSize(%q) = %d; want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	var b byteSize = 100 << 20
	if b.String() != "100MiB" {
		t.Errorf("String = %q", b.String())
	}
	if err := b.Set("0"); err == nil {
		t.Error("Set(0) accepted")
	}
}
