// Package ops serves what an operator watches: Prometheus metrics on
// depot's own registry at /metrics, liveness at /healthz and readiness at
// /readyz. It is the one package that imports prometheus; the packages it
// counts for expose callbacks and stats functions (githttp.Server.Observe,
// auth.Observer, gc.Auto.Observe, tokens.Store.CacheStats, odb.Stats,
// uploadpack.PlanCacheStats, gitref.PackedCacheStats) that cmd/depot
// wires to it.
package ops

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/depot/depot/auth"
	"github.com/depot/depot/githttp"
)

// Metrics holds every metric of one depot process, on a registry of its
// own (never the global default, so that tests may make several).
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec   // class, code
	httpDuration *prometheus.HistogramVec // class

	gitOps      *prometheus.CounterVec   // op, result
	gitBytes    *prometheus.CounterVec   // op, direction
	gitObjects  *prometheus.CounterVec   // op
	gitDuration *prometheus.HistogramVec // op

	authFailures *prometheus.CounterVec // via
	authLimited  *prometheus.CounterVec // via

	repacks        *prometheus.CounterVec // result
	repackDuration prometheus.Histogram
}

// Sources are the stats functions that gauges and counters read at each
// scrape; a nil one is left out.
type Sources struct {
	// TokenCache returns the token lookup cache's hits, misses and
	// entries (tokens.Store.CacheStats).
	TokenCache func() (hits, misses uint64, entries int)
	// ObjectCaches returns the open repositories and the delta base
	// cache's bytes and entries (odb.Stats).
	ObjectCaches func() (openRepos, baseBytes, baseEntries int)
	// PlanCache returns the pack plan cache's entries and bytes
	// (uploadpack.PlanCacheStats).
	PlanCache func() (entries, bytes int)
	// PackedRefsCache returns the repositories and refs of the parsed
	// packed-refs cache (gitref.PackedCacheStats).
	PackedRefsCache func() (repos, refs int)
}

// Route classes label the HTTP metrics: which surface answered, never the
// path, so that the number of series stays bounded.
const (
	ClassPublic    = "public"    // the API's description, avatars
	ClassWeb       = "web"       // the pages
	ClassStatic    = "static"    // the pages' CSS and images
	ClassAPI       = "api"       // the JSON API
	ClassGit       = "git"       // git smart HTTP
	ClassOps       = "ops"       // /metrics, /healthz, /readyz
	ClassUnmatched = "unmatched" // no route: 404 and 405
)

// New returns the metrics of a process, with the Go runtime's and the
// process's collectors registered, and the gauges that read src.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_http_requests_total",
			Help: "HTTP requests answered, by route class and status code.",
		}, []string{"class", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "depot_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route class; exemplars carry the request id.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"class"}),
		gitOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_git_operations_total",
			Help: "Git requests served: clone, fetch (a pack sent), push, negotiate (an upload-pack round without a pack), by result (ok, error).",
		}, []string{"op", "result"}),
		gitBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_git_bytes_total",
			Help: "Bytes of git requests (received) and responses (sent), on the wire.",
		}, []string{"op", "direction"}),
		gitObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_git_objects_total",
			Help: "Objects sent in packs (clone, fetch) or kept from pushed packs (push).",
		}, []string{"op"}),
		gitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "depot_git_operation_duration_seconds",
			Help:    "Time to serve a git request, by operation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"op"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_auth_failures_total",
			Help: "Credentials that did not verify (401), on requests or the sign-in form.",
		}, []string{"via"}),
		authLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_auth_limited_total",
			Help: "Attempts refused by the failure limiter (429), on requests or the sign-in form.",
		}, []string{"via"}),
		repacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "depot_repacks_total",
			Help: "Background repacks after pushes, by result (ok, error).",
		}, []string{"result"}),
		repackDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "depot_repack_duration_seconds",
			Help:    "Time a background repack took.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 1800},
		}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.gitOps, m.gitBytes, m.gitObjects, m.gitDuration,
		m.authFailures, m.authLimited,
		m.repacks, m.repackDuration,
	)
	// Every label value known in advance is present from the start, so
	// that a rate over a counter that has not moved yet reads 0, not
	// nothing.
	for _, via := range []string{auth.ViaRequest, auth.ViaSignIn} {
		m.authFailures.WithLabelValues(via)
		m.authLimited.WithLabelValues(via)
	}
	for _, r := range []string{"ok", "error"} {
		m.repacks.WithLabelValues(r)
	}
	m.registerSources(src)
	return m
}

func (m *Metrics) registerSources(src Sources) {
	if f := src.TokenCache; f != nil {
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "depot_token_cache_hits_total", Help: "Token lookups answered from the lookup cache.",
			}, func() float64 { h, _, _ := f(); return float64(h) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "depot_token_cache_misses_total", Help: "Token lookups that read the database.",
			}, func() float64 { _, mi, _ := f(); return float64(mi) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_token_cache_entries", Help: "Answers held by the token lookup cache.",
			}, func() float64 { _, _, n := f(); return float64(n) }),
		)
	}
	if f := src.ObjectCaches; f != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_open_repositories", Help: "Repositories whose object stores are held open between requests.",
			}, func() float64 { n, _, _ := f(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_delta_base_cache_bytes", Help: "Bytes of inflated delta bases cached.",
			}, func() float64 { _, b, _ := f(); return float64(b) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_delta_base_cache_entries", Help: "Inflated delta bases cached.",
			}, func() float64 { _, _, n := f(); return float64(n) }),
		)
	}
	if f := src.PlanCache; f != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_pack_plan_cache_entries", Help: "Pack plans cached for identical fetches.",
			}, func() float64 { n, _ := f(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_pack_plan_cache_bytes", Help: "Estimated bytes of the cached pack plans.",
			}, func() float64 { _, b := f(); return float64(b) }),
		)
	}
	if f := src.PackedRefsCache; f != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_packed_refs_cache_repositories", Help: "Repositories whose parsed packed-refs are cached.",
			}, func() float64 { n, _ := f(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "depot_packed_refs_cache_refs", Help: "Refs held by the packed-refs cache.",
			}, func() float64 { _, n := f(); return float64(n) }),
		)
	}
}

// Handler serves the registry in Prometheus's text format, or in
// OpenMetrics (with exemplars) when the scraper asks for it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, Registry: m.reg})
}

// ObserveRequest counts one HTTP request answered by a route of class
// with status code, taking d; requestID becomes the latency's exemplar.
func (m *Metrics) ObserveRequest(class string, code int, d time.Duration, requestID string) {
	m.httpRequests.WithLabelValues(class, strconv.Itoa(code)).Inc()
	h := m.httpDuration.WithLabelValues(class)
	if eo, ok := h.(prometheus.ExemplarObserver); ok && requestID != "" {
		eo.ObserveWithExemplar(d.Seconds(), prometheus.Labels{"request_id": requestID})
		return
	}
	h.Observe(d.Seconds())
}

// ObserveGit counts one git request (githttp.Server.Observe).
func (m *Metrics) ObserveGit(op githttp.Op) {
	kind := string(op.Kind)
	result := "ok"
	if op.Failed {
		result = "error"
	}
	m.gitOps.WithLabelValues(kind, result).Inc()
	m.gitBytes.WithLabelValues(kind, "received").Add(float64(op.Received))
	m.gitBytes.WithLabelValues(kind, "sent").Add(float64(op.Sent))
	m.gitObjects.WithLabelValues(kind).Add(float64(op.Objects))
	m.gitDuration.WithLabelValues(kind).Observe(op.Duration.Seconds())
}

// ObserveRepack counts one background repack (gc.Auto.Observe).
func (m *Metrics) ObserveRepack(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.repacks.WithLabelValues(result).Inc()
	m.repackDuration.Observe(d.Seconds())
}

// Failed implements auth.Observer.
func (m *Metrics) Failed(via string) { m.authFailures.WithLabelValues(via).Inc() }

// Limited implements auth.Observer.
func (m *Metrics) Limited(via string) { m.authLimited.WithLabelValues(via).Inc() }

var _ auth.Observer = (*Metrics)(nil)
