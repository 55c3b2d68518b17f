package vaultapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// loginLimiter rate-limits failed logins per key (a username, a client
// address): each key gets a token bucket; a failure spends a token, and a
// key with no token left is refused before its password is checked.
// Idle keys are dropped, so memory stays bounded by recent failures.
type loginLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLoginLimiter(every time.Duration, burst int) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// blocked reports whether any of keys has exhausted its failures.
func (l *loginLimiter) blocked(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if b, ok := l.buckets[k]; ok && b.lim.TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// fail records a failed attempt for every key.
func (l *loginLimiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	for _, k := range keys {
		b, ok := l.buckets[k]
		if !ok {
			b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
			l.buckets[k] = b
		}
		b.seen = now
		b.lim.AllowN(now, 1)
	}
}

// sweep drops buckets idle long enough to be full again.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	idle := l.every * time.Duration(l.burst)
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}
