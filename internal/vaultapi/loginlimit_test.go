package vaultapi

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	ctx := context.Background()
	l := newLoginLimiter(time.Minute, 3)
	now := time.Now()
	attempt := func(failed bool, keys ...string) bool {
		ok, finish, err := l.begin(ctx, now, keys...)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			finish(failed)
		}
		return ok
	}
	for i := range 3 {
		if !attempt(true, "user:a", "addr:1") {
			t.Fatalf("refused after %d failures, want after 3", i)
		}
	}
	if attempt(false, "user:a", "addr:2") || attempt(false, "user:b", "addr:1") {
		t.Error("after 3 failures the user or the address is not blocked")
	}
	for range 10 {
		if !attempt(false, "user:c", "addr:4") {
			t.Fatal("successful logins used up a budget")
		}
	}
}

// TestLoginLimiterConcurrency: concurrent failures never get more password
// checks than the budget; concurrent successes are all admitted.
func TestLoginLimiterConcurrency(t *testing.T) {
	ctx := context.Background()
	for _, failing := range []bool{true, false} {
		l := newLoginLimiter(time.Hour, 5)
		var mu sync.Mutex
		admitted := 0
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				ok, finish, err := l.begin(ctx, time.Now(), "addr:nat")
				if err != nil || !ok {
					return
				}
				mu.Lock()
				admitted++
				mu.Unlock()
				time.Sleep(time.Millisecond) // the password check
				finish(failing)
			})
		}
		wg.Wait()
		if failing && admitted != 5 {
			t.Errorf("40 concurrent failures: %d password checks, want exactly the budget of 5", admitted)
		}
		if !failing && admitted != 40 {
			t.Errorf("40 concurrent successes: %d admitted, want all 40", admitted)
		}
	}
}
