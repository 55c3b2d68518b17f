package cache

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the metrics of b and its caches, for a Prometheus
// registry: coffer_cache_healthy (1 while caches may serve hits),
// coffer_cache_connects_total (listener (re)connections, each a flush),
// and coffer_cache_hits_total / coffer_cache_misses_total by topic (a
// miss includes every Get while the bus is down).
func Collector(b *Bus) prometheus.Collector { return collector{b} }

type collector struct{ b *Bus }

var (
	healthyDesc = prometheus.NewDesc("coffer_cache_healthy",
		"1 while the caches may serve hits (the invalidation listener is up), else 0.", nil, nil)
	connectsDesc = prometheus.NewDesc("coffer_cache_connects_total",
		"How often the invalidation listener has (re)connected, each time flushing every cache.", nil, nil)
	hitsDesc = prometheus.NewDesc("coffer_cache_hits_total",
		"Cache lookups answered from memory, by topic.", []string{"topic"}, nil)
	missesDesc = prometheus.NewDesc("coffer_cache_misses_total",
		"Cache lookups that read the store, by topic.", []string{"topic"}, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- healthyDesc
	ch <- connectsDesc
	ch <- hitsDesc
	ch <- missesDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	healthy := 0.0
	if c.b.Healthy() {
		healthy = 1
	}
	ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, healthy)
	ch <- prometheus.MustNewConstMetric(connectsDesc, prometheus.CounterValue, float64(c.b.Connects()))
	c.b.mu.RLock()
	defer c.b.mu.RUnlock()
	for topic, cs := range c.b.topics {
		var hits, misses uint64
		for _, cc := range cs {
			h, m := cc.counts()
			hits, misses = hits+h, misses+m
		}
		ch <- prometheus.MustNewConstMetric(hitsDesc, prometheus.CounterValue, float64(hits), topic)
		ch <- prometheus.MustNewConstMetric(missesDesc, prometheus.CounterValue, float64(misses), topic)
	}
}
