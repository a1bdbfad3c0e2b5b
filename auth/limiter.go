package auth

import (
	"sync"
	"time"
)

// Limiter throttles clients that keep failing to authenticate: each address
// has a bucket of Burst failures that refills at one per Refill. An empty
// bucket blocks the address until the next refill. A nil *Limiter never
// blocks.
type Limiter struct {
	burst  float64
	refill time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxTracked bounds the limiter's memory; past it, full buckets are dropped.
const maxTracked = 100_000

// NewLimiter returns a Limiter allowing burst failures per address,
// refilled at one per refill.
func NewLimiter(burst int, refill time.Duration) *Limiter {
	return &Limiter{burst: float64(burst), refill: refill, now: time.Now, buckets: map[string]*bucket{}}
}

func (l *Limiter) level(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
}

// Blocked returns how long ip must wait before trying again, or 0.
func (l *Limiter) Blocked(ip string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		return 0
	}
	lvl := l.level(b, l.now())
	if lvl >= 1 {
		return 0
	}
	return time.Duration((1 - lvl) * float64(l.refill))
}

// Fail records a failed attempt from ip.
func (l *Limiter) Fail(ip string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	b.tokens = max(0, l.level(b, now)-1)
	b.at = now
}

// prune drops the buckets that have refilled completely.
func (l *Limiter) prune(now time.Time) {
	for ip, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
