package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
)

// histogram is one class's cumulative bucket counts of depot's request
// duration histogram, by upper bound in seconds.
type histogram map[float64]float64

// bucketRE matches a bucket line of depot_http_request_duration_seconds in
// the Prometheus text format, whose labels come sorted (class, le).
var bucketRE = regexp.MustCompile(`^depot_http_request_duration_seconds_bucket\{class="([^"]+)",le="([^"]+)"\} ([0-9.e+]+)`)

// scrapeDurations reads the request duration histograms of the depot at
// base, by route class, through /metrics with its metrics token: the
// server's own time for each request, which the client's latency adds
// its queueing to when client and server share a machine.
func scrapeDurations(ctx context.Context, c *http.Client, base, token string) (map[string]histogram, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	out := map[string]histogram{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := bucketRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		le, err := strconv.ParseFloat(m[2], 64) // "+Inf" parses as +Inf
		if err != nil {
			continue
		}
		n, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		if out[m[1]] == nil {
			out[m[1]] = histogram{}
		}
		out[m[1]][le] = n
	}
	return out, sc.Err()
}

// since returns the counts h gained after before.
func (h histogram) since(before histogram) histogram {
	d := histogram{}
	for le, n := range h {
		d[le] = n - before[le]
	}
	return d
}

// quantile returns the upper bound of the bucket that holds the q-th
// quantile (0 when there are no observations, +Inf past the last bound).
func (h histogram) quantile(q float64) float64 {
	bounds := make([]float64, 0, len(h))
	for le := range h {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := h[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	for _, le := range bounds {
		if h[le] >= q*total {
			return le
		}
	}
	return math.Inf(1)
}
