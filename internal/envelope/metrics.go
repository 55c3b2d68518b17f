package envelope

import "github.com/prometheus/client_golang/prometheus"

var (
	cacheHits = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coffer", Subsystem: "envelope",
		Name: "keyring_cache_hits_total", Help: "Keyring lookups served from the in-memory cache."})
	cacheMisses = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coffer", Subsystem: "envelope",
		Name: "keyring_cache_misses_total", Help: "Keyring lookups that unwrapped the keyring (a KMS call for a kmsKey)."})
)

// Collectors returns the package's metrics, for the process registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{cacheHits, cacheMisses} }
