package vaultapi

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// loginLimiter rate-limits failed logins per key (a username, a client
// address). Each key has a token bucket that only failures spend. An
// attempt in flight reserves a token of each of its keys, so concurrent
// failures cannot overdraw a budget; when only attempts in flight stand in
// the way, a new attempt waits for them rather than being refused, so many
// correct logins at once (pods behind one NAT address) are never limited.
// An attempt is refused only when recorded failures used the budget up.
// Idle keys are dropped, so memory stays bounded by recent failures.
type loginLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim      *rate.Limiter
	seen     time.Time
	inflight int
	changed  chan struct{} // closed when an attempt of this key finishes
}

func newLoginLimiter(every time.Duration, burst int) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// begin admits an attempt for keys, or reports ok false when their failures
// used the budget up. finish must be called with whether the attempt failed.
// An error means ctx ended while waiting.
func (l *loginLimiter) begin(ctx context.Context, now time.Time, keys ...string) (ok bool, finish func(failed bool), err error) {
	for {
		l.mu.Lock()
		l.sweep(now)
		var wait chan struct{}
		bs := make([]*bucket, 0, len(keys))
		for _, k := range keys {
			b := l.bucket(k)
			tokens := b.lim.TokensAt(now)
			if tokens < 1 {
				l.mu.Unlock()
				return false, nil, nil
			}
			if tokens-float64(b.inflight) < 1 && wait == nil {
				if b.changed == nil {
					b.changed = make(chan struct{})
				}
				wait = b.changed
			}
			bs = append(bs, b)
		}
		if wait == nil {
			for _, b := range bs {
				b.inflight++
				b.seen = now
			}
			l.mu.Unlock()
			return true, func(failed bool) { l.finish(bs, failed) }, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return false, nil, ctx.Err()
		case <-wait:
		}
	}
}

func (l *loginLimiter) finish(bs []*bucket, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, b := range bs {
		b.inflight--
		if failed {
			b.lim.AllowN(now, 1)
		}
		if b.changed != nil {
			close(b.changed)
			b.changed = nil
		}
	}
}

func (l *loginLimiter) bucket(k string) *bucket {
	b, ok := l.buckets[k]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[k] = b
	}
	return b
}

// sweep drops idle buckets that are full again and have nothing in flight.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	idle := l.every * time.Duration(l.burst)
	for k, b := range l.buckets {
		if b.inflight == 0 && now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}
