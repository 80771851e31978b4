package pullapi

import (
	"sync"
	"time"
)

// limiter keeps one token bucket per API token. Each request takes one unit;
// a bucket holds at most burst units and refills at rate units per second.
// Buckets live in this process only, so each server enforces the rate on
// its own.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[int64]*bucket
}

type bucket struct {
	units float64
	at    time.Time
}

// maxBuckets bounds the map; past it, buckets that have refilled completely
// are dropped, since a new bucket starts full anyway.
const maxBuckets = 10_000

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: make(map[int64]*bucket)}
}

// allow takes one unit from the bucket of token id. When the bucket is
// empty it returns false and how long until a unit is back.
func (l *limiter) allow(id int64) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.dropFull(now)
		}
		b = &bucket{units: l.burst, at: now}
		l.buckets[id] = b
	}
	b.units = min(l.burst, b.units+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.units >= 1 {
		b.units--
		return 0, true
	}
	return time.Duration((1 - b.units) / l.rate * float64(time.Second)), false
}

func (l *limiter) dropFull(now time.Time) {
	for id, b := range l.buckets {
		if b.units+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, id)
		}
	}
}
