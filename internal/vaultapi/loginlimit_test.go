package vaultapi

import (
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter(time.Minute, 3)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if l.blocked(now, "user:a", "addr:1") {
			t.Fatalf("blocked after %d failures, want after 3", i)
		}
		l.fail(now, "user:a", "addr:1")
	}
	if !l.blocked(now, "user:a", "addr:2") || !l.blocked(now, "user:b", "addr:1") {
		t.Error("after 3 failures neither the user nor the address is blocked")
	}
	if l.blocked(now, "user:b", "addr:2") {
		t.Error("an unrelated user and address are blocked")
	}
	if l.blocked(now.Add(time.Minute), "user:a") {
		t.Error("still blocked after the bucket refilled one token")
	}
	l.fail(now.Add(10*time.Minute), "user:c")
	if _, ok := l.buckets["user:a"]; ok {
		t.Error("an idle bucket was not swept")
	}
}
