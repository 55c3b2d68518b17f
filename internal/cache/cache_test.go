package cache_test

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cofferhq/coffer/internal/cache"
)

type val struct{ m map[string]string }

func cloneVal(v *val) *val { return &val{m: maps.Clone(v.m)} }

func newCache(bus *cache.Bus, size int) *cache.Cache[*val] {
	return cache.New(bus, "t", size, cloneVal)
}

func put(c *cache.Cache[*val], key, tag, v string) {
	c.Put(c.Ticket(), key, tag, &val{m: map[string]string{"v": v}})
}

func get(t *testing.T, c *cache.Cache[*val], key string) (string, bool) {
	t.Helper()
	v, ok := c.Get(key)
	if !ok {
		return "", false
	}
	return v.m["v"], true
}

func TestPayloadRoundTrip(t *testing.T) {
	for _, m := range []cache.Message{
		cache.Key("transit", "mnt/a:b/c"), cache.Tag("token", "abc"), cache.Flush("mount"), cache.Key("x", ""),
	} {
		got, ok := cache.ParsePayload(m.Payload())
		if !ok || got != m {
			t.Errorf("ParsePayload(%q) = %+v, %v; want %+v", m.Payload(), got, ok, m)
		}
	}
	for _, m := range []cache.Message{
		cache.Key("t", strings.Repeat("x", 8000)), cache.Key("t", "a\x00b"), cache.Tag("t", "\xff"),
	} {
		if got, ok := cache.ParsePayload(m.Payload()); !ok || got != cache.Flush("t") {
			t.Errorf("payload of an unsendable message = %+v, %v; want a flush of its topic", got, ok)
		}
	}
	for _, p := range []string{"", "t", "t:k", "t:x:a", ":k:a", "t:kk:a"} {
		if m, ok := cache.ParsePayload(p); ok {
			t.Errorf("ParsePayload(%q) = %+v, want not ok", p, m)
		}
	}
}

func TestHitsOnlyWhileHealthy(t *testing.T) {
	bus := cache.NewBus()
	c := newCache(bus, 10)
	put(c, "a", "", "1")
	if _, ok := get(t, c, "a"); ok {
		t.Fatal("hit before the bus was up")
	}
	if v, ok := c.Peek("a"); !ok || v.m["v"] != "1" {
		t.Fatalf("Peek = %v, %v; want the entry put while down", v, ok)
	}
	bus.Up()
	if _, ok := c.Peek("a"); ok {
		t.Fatal("Up did not flush the entry put while down")
	}
	put(c, "a", "", "2")
	if v, ok := get(t, c, "a"); !ok || v != "2" {
		t.Fatalf("Get = %q, %v after Up; want 2, true", v, ok)
	}
	bus.Down()
	if _, ok := get(t, c, "a"); ok {
		t.Fatal("hit while the bus was down")
	}
	bus.Up()
	if _, ok := get(t, c, "a"); ok {
		t.Fatal("hit of an entry from before a reconnect")
	}
	if bus.Connects() != 2 {
		t.Fatalf("Connects = %d, want 2", bus.Connects())
	}
}

func TestNilBusNeverHits(t *testing.T) {
	c := newCache(nil, 10)
	put(c, "a", "", "1")
	if _, ok := get(t, c, "a"); ok {
		t.Fatal("hit without a bus")
	}
	if _, ok := c.Peek("a"); !ok {
		t.Fatal("Peek missed without a bus")
	}
}

func TestStalePutDropped(t *testing.T) {
	for name, inv := range map[string]func(c *cache.Cache[*val], bus *cache.Bus){
		"key":         func(c *cache.Cache[*val], _ *cache.Bus) { c.Invalidate("other") },
		"tag":         func(c *cache.Cache[*val], _ *cache.Bus) { c.InvalidateTag("other") },
		"flush":       func(c *cache.Cache[*val], _ *cache.Bus) { c.Flush() },
		"delivered":   func(_ *cache.Cache[*val], bus *cache.Bus) { bus.Deliver(cache.Key("t", "other")) },
		"reconnected": func(_ *cache.Cache[*val], bus *cache.Bus) { bus.Down(); bus.Up() },
	} {
		t.Run(name, func(t *testing.T) {
			bus := cache.NewLocalBus()
			c := newCache(bus, 10)
			tk := c.Ticket() // a reader starts a store read
			inv(c, bus)      // a change commits and is invalidated meanwhile
			c.Put(tk, "a", "", &val{m: map[string]string{"v": "old"}})
			if _, ok := c.Peek("a"); ok {
				t.Fatal("a Put with a ticket from before an invalidation was kept")
			}
			put(c, "a", "", "new")
			if v, ok := get(t, c, "a"); !ok || v != "new" {
				t.Fatalf("Get = %q, %v; want new, true", v, ok)
			}
		})
	}
}

func TestDeliverAndTags(t *testing.T) {
	bus := cache.NewLocalBus()
	c := newCache(bus, 10)
	other := cache.New(bus, "other", 10, cloneVal)
	put(c, "m1/a", "m1", "1")
	put(c, "m1/b", "m1", "1")
	put(c, "m2/a", "m2", "1")
	put(other, "m1/a", "m1", "1")

	bus.Deliver(cache.Key("t", "m1/a"))
	bus.Deliver(cache.Key("nobody", "m2/a"))
	if _, ok := get(t, c, "m1/a"); ok {
		t.Error("key message did not drop its entry")
	}
	if _, ok := other.Get("m1/a"); !ok {
		t.Error("a message of topic t dropped an entry of topic other")
	}
	bus.Deliver(cache.Tag("t", "m1"))
	if _, ok := get(t, c, "m1/b"); ok {
		t.Error("tag message did not drop a tagged entry")
	}
	if _, ok := get(t, c, "m2/a"); !ok {
		t.Error("tag message dropped an entry of another tag")
	}
	put(c, "m2/a", "", "2") // retagged: no longer under m2
	bus.Deliver(cache.Tag("t", "m2"))
	if _, ok := get(t, c, "m2/a"); !ok {
		t.Error("tag message dropped an entry whose tag had changed")
	}
	bus.Deliver(cache.Flush("t"))
	if c.Len() != 0 {
		t.Errorf("flush left %d entries", c.Len())
	}
	bus.FlushAll()
	if other.Len() != 0 {
		t.Errorf("FlushAll left %d entries", other.Len())
	}
}

func TestCopiesOut(t *testing.T) {
	c := newCache(cache.NewLocalBus(), 10)
	in := &val{m: map[string]string{"v": "1"}}
	c.Put(c.Ticket(), "a", "", in)
	in.m["v"] = "changed by the putter"
	got, _ := c.Get("a")
	got.m["v"] = "changed by a getter"
	if v, _ := get(t, c, "a"); v != "1" {
		t.Fatalf("cached value = %q, want 1: a caller changed the shared copy", v)
	}
}

func TestBounded(t *testing.T) {
	c := newCache(cache.NewLocalBus(), 3)
	for i := range 10 {
		put(c, fmt.Sprint(i), fmt.Sprint("tag", i%2), "x")
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	if _, ok := get(t, c, "9"); !ok {
		t.Fatal("the newest entry was evicted")
	}
	c.InvalidateTag("tag0")
	c.InvalidateTag("tag1")
	if c.Len() != 0 {
		t.Fatalf("tags of evicted entries were not kept in step: %d entries left", c.Len())
	}
}

func TestConcurrent(t *testing.T) {
	bus := cache.NewBus()
	c := newCache(bus, 50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 100)
				switch i % 7 {
				case 0:
					c.Invalidate(k)
				case 1:
					bus.Deliver(cache.Tag("t", k))
				case 2:
					if g == 0 {
						bus.Down()
						bus.Up()
					}
				default:
					if _, ok := c.Get(k); !ok {
						put(c, k, k, k)
					}
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("Len = %d, above the bound", c.Len())
	}
}

func TestRememberIsPeekOnly(t *testing.T) {
	c := newCache(cache.NewLocalBus(), 10)
	c.Remember("a", "", &val{m: map[string]string{"v": "written"}})
	if _, ok := get(t, c, "a"); ok {
		t.Fatal("Get served a remembered entry")
	}
	if v, ok := c.Peek("a"); !ok || v.m["v"] != "written" {
		t.Fatalf("Peek = %v, %v; want the remembered entry", v, ok)
	}
	put(c, "a", "", "confirmed")
	if v, ok := get(t, c, "a"); !ok || v != "confirmed" {
		t.Fatalf("Get = %q, %v after Put; want confirmed, true", v, ok)
	}
}

func TestCollectorCounts(t *testing.T) {
	bus := cache.NewBus()
	c := cache.New(bus, "things", 4, func(s string) string { return s })
	reg := prometheus.NewRegistry()
	reg.MustRegister(cache.Collector(bus))
	value := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				m := mf.GetMetric()[0]
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	c.Put(c.Ticket(), "k", "", "v")
	c.Get("k") // bus down: a miss
	if value("coffer_cache_healthy") != 0 || value("coffer_cache_misses_total") != 1 {
		t.Fatalf("down bus: healthy %v, misses %v", value("coffer_cache_healthy"), value("coffer_cache_misses_total"))
	}
	bus.Up()
	c.Put(c.Ticket(), "k", "", "v")
	c.Get("k")
	c.Get("other")
	if value("coffer_cache_healthy") != 1 || value("coffer_cache_hits_total") != 1 ||
		value("coffer_cache_misses_total") != 2 || value("coffer_cache_connects_total") != 1 {
		t.Fatalf("after Up: healthy %v hits %v misses %v connects %v", value("coffer_cache_healthy"),
			value("coffer_cache_hits_total"), value("coffer_cache_misses_total"), value("coffer_cache_connects_total"))
	}
}
