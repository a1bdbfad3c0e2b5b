package main

import (
	"math"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	before := histogram{0.001: 10, 0.005: 10, 0.01: 10, math.Inf(1): 10}
	after := histogram{0.001: 61, 0.005: 109, 0.01: 110, math.Inf(1): 111}
	d := after.since(before)
	tests := []struct {
		q    float64
		want float64
	}{
		{0.5, 0.001}, // 51 of 101 under 1 ms
		{0.9, 0.005},
		{0.99, 0.01},
		{1, math.Inf(1)},
	}
	for _, tt := range tests {
		if got := d.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v; want %v", tt.q, got, tt.want)
		}
	}
	if got := (histogram{}).quantile(0.5); got != 0 {
		t.Errorf("quantile of an empty histogram = %v; want 0", got)
	}
}
