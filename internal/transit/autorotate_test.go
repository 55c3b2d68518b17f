package transit_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/transit"
)

// fakeClock is a settable clock for Services.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}

func (c *fakeClock) set(t time.Time)        { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time         { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) option() transit.Option { return transit.WithClock(c.now) }

func TestAutoRotate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	s := transit.NewService(e.st, e.seal, clock.option())
	for name, period := range map[string]time.Duration{"hourly": time.Hour, "daily": 24 * time.Hour, "never": 0} {
		if _, err := s.Create(ctx, "transit", name, transit.TypeAES256GCM96,
			transit.Options{AutoRotatePeriod: period}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, "other", "hourly", transit.TypeEd25519, transit.Options{AutoRotatePeriod: time.Hour}); err != nil {
		t.Fatal(err)
	}
	latest := func(name string) int { t.Helper(); return mustKey(t, e.service(), "transit", name).LatestVersion }
	step := func(at time.Duration, want int, wantLatest map[string]int) {
		t.Helper()
		clock.set(t0.Add(at))
		n, err := s.AutoRotate(ctx, "transit")
		if err != nil || n != want {
			t.Fatalf("AutoRotate() at +%v = %d, %v; want %d, nil", at, n, err, want)
		}
		for name, v := range wantLatest {
			if got := latest(name); got != v {
				t.Errorf("at +%v: %s latest version = %d, want %d", at, name, got, v)
			}
		}
	}
	step(59*time.Minute, 0, map[string]int{"hourly": 1, "daily": 1, "never": 1})
	step(time.Hour, 1, map[string]int{"hourly": 2, "daily": 1, "never": 1})
	step(time.Hour+time.Second, 0, map[string]int{"hourly": 2})
	if k := mustKey(t, e.service(), "transit", "hourly"); !k.Versions[2].CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("rotated version created at %v, want the clock's %v", k.Versions[2].CreatedAt, t0.Add(time.Hour))
	}
	step(24*time.Hour, 2, map[string]int{"hourly": 3, "daily": 2, "never": 1})
	// The period counts from the latest version: a manual rotation resets it.
	if _, err := s.Mutate(ctx, "transit", "hourly", func(k *transit.Key) error {
		return k.Rotate(t0.Add(24*time.Hour + 30*time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	step(25*time.Hour, 0, map[string]int{"hourly": 4})
	// Other mounts are untouched; an empty mount rotates nothing.
	if k := mustKey(t, e.service(), "other", "hourly"); k.LatestVersion != 1 {
		t.Errorf("other mount's key latest version = %d, want 1", k.LatestVersion)
	}
	if n, err := s.AutoRotate(ctx, "empty"); n != 0 || err != nil {
		t.Errorf("AutoRotate(empty) = %d, %v", n, err)
	}
}

// TestAutoRotateReplicas: replicas sweeping at once rotate a due key once.
func TestAutoRotateReplicas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	if _, err := transit.NewService(e.st, e.seal, clock.option()).Create(ctx, "transit", "k", transit.TypeAES128GCM96,
		transit.Options{AutoRotatePeriod: time.Hour}); err != nil {
		t.Fatal(err)
	}
	clock.set(t0.Add(2 * time.Hour))
	const replicas = 4
	var total atomic.Int64
	var wg sync.WaitGroup
	for range replicas {
		s := transit.NewService(e.st, e.seal, clock.option())
		wg.Go(func() {
			n, err := s.AutoRotate(ctx, "transit")
			if err != nil {
				t.Errorf("AutoRotate() error = %v", err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if got := mustKey(t, e.service(), "transit", "k").LatestVersion; total.Load() != 1 || got != 2 {
		t.Errorf("replicas rotated %d times, latest version %d; want 1 rotation, version 2", total.Load(), got)
	}
}
