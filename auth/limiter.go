package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limiter throttles failed attempts to authenticate, per client address
// and per user name. Each has a bucket of failures that refills at one per
// refill period; an empty bucket refuses until the next refill.
//
// The address buckets count every failure from an address (IPv6 clients
// by their /64, which one host usually holds whole); the user buckets
// count the failed passwords given for a user name, from any address.
// Only passwords are refused by either: a well-formed token is checked
// first, since looking it up costs one hash and it cannot be guessed, so
// a user whose password is locked, or an office behind one NAT address
// that sent bad passwords, still gets in with a valid token. See
// Authenticator.Authenticate.
//
// A nil *Limiter never blocks.
type Limiter struct {
	addrs, users *buckets
}

// NewLimiter returns a Limiter allowing burst failures per address and
// per user name, each refilled at one per refill; WithUserLimit sets the
// users' apart.
func NewLimiter(burst int, refill time.Duration) *Limiter {
	return &Limiter{addrs: newBuckets(burst, refill), users: newBuckets(burst, refill)}
}

// WithUserLimit sets l's per-user limit to burst failed passwords,
// refilled at one per refill, and returns l.
func (l *Limiter) WithUserLimit(burst int, refill time.Duration) *Limiter {
	l.users = newBuckets(burst, refill)
	return l
}

// Blocked returns how long ip must wait before trying again, or 0.
func (l *Limiter) Blocked(ip string) time.Duration {
	if l == nil {
		return 0
	}
	return l.addrs.blocked(AddressKey(ip))
}

// Fail records a failed attempt from ip.
func (l *Limiter) Fail(ip string) {
	if l == nil {
		return
	}
	l.addrs.fail(AddressKey(ip))
}

// UserBlocked returns how long passwords for user must wait, or 0.
func (l *Limiter) UserBlocked(user string) time.Duration {
	if l == nil {
		return 0
	}
	return l.users.blocked(userKey(user))
}

// FailUser records a wrong password for user.
func (l *Limiter) FailUser(user string) {
	if l == nil {
		return
	}
	l.users.fail(userKey(user))
}

// maxUserKey bounds the memory a user name takes in the limiter; real
// names are far shorter, so a longer one shares its bucket only with
// other names that no user can have.
const maxUserKey = 64

// userKey is what the limiter counts user's failures under: the name in
// lower case, as names are matched, cut to maxUserKey bytes.
func userKey(user string) string {
	if len(user) > maxUserKey {
		user = user[:maxUserKey]
	}
	return strings.ToLower(user)
}

// setNow makes l read the time from now; for tests.
func (l *Limiter) setNow(now func() time.Time) {
	l.addrs.now, l.users.now = now, now
}

// AddressKey returns what the limiter counts ip's failures under: an
// IPv4 address itself, an IPv6 address's /64, or ip as it is when it is
// not an address.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// buckets are token buckets by key.
type buckets struct {
	burst  float64
	refill time.Duration
	now    func() time.Time
	limit  int // most keys tracked, maxTracked but in tests

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxTracked bounds each set of buckets' memory (see prune).
const maxTracked = 100_000

func newBuckets(burst int, refill time.Duration) *buckets {
	return &buckets{burst: float64(burst), refill: refill, now: time.Now, limit: maxTracked, m: map[string]*bucket{}}
}

func (bs *buckets) level(b *bucket, now time.Time) float64 {
	if bs.refill <= 0 {
		return bs.burst
	}
	return min(bs.burst, b.tokens+float64(now.Sub(b.at))/float64(bs.refill))
}

func (bs *buckets) blocked(key string) time.Duration {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	if b == nil {
		return 0
	}
	lvl := bs.level(b, bs.now())
	if lvl >= 1 {
		return 0
	}
	return time.Duration((1 - lvl) * float64(bs.refill))
}

func (bs *buckets) fail(key string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	now := bs.now()
	b := bs.m[key]
	if b == nil {
		if len(bs.m) >= bs.limit {
			bs.prune(now)
		}
		b = &bucket{tokens: bs.burst, at: now}
		bs.m[key] = b
	}
	b.tokens = max(0, bs.level(b, now)-1)
	b.at = now
}

// prune drops the buckets that have refilled completely and, when that is
// not a tenth of them, arbitrary others until it is, so that a flood of
// new keys costs one sweep per tenth of the limit, not one per key.
func (bs *buckets) prune(now time.Time) {
	for k, b := range bs.m {
		if bs.level(b, now) >= bs.burst {
			delete(bs.m, k)
		}
	}
	for k := range bs.m {
		if len(bs.m) < bs.limit*9/10 {
			break
		}
		delete(bs.m, k)
	}
}
