// Package cache holds the in-memory, read-through caches of the Vault
// listener's hot path (tokens, mounts, transit keys) and the Bus that keeps
// them coherent across replicas.
//
// # Design
//
// A service that caches rows of its Store reads through a Cache: Get
// answers from memory; on a miss the service takes a Ticket, reads the
// Store, and Puts what it read with that Ticket. Every write a service
// makes through its Store invalidates its own Cache at once (Invalidate,
// InvalidateTag or Flush), so a replica always reads its own writes.
//
// Other writers are seen through the Bus. On PostgreSQL, every store
// method that changes a cached row also sends a NOTIFY on the channel
// Channel inside the same transaction, with a Message as payload
// (Message.Payload): PostgreSQL delivers it to every listening session
// exactly when the transaction commits, and never when it rolls back. Each
// replica keeps one dedicated connection LISTENing (store/postgres's
// Listener), which hands each payload to Bus.Deliver, which invalidates the
// caches registered for its topic. SQLite is one process whose writes all
// go through its own services, so its Bus is a local one (NewLocalBus):
// always healthy, with nothing to deliver.
//
// # Correctness rules
//
//   - Hits only while the bus is healthy. A networked Bus (NewBus) starts
//     down, goes Up when its listener has LISTENed, and Down whenever the
//     listener's connection is lost (and until it is back, reconnecting
//     with backoff). While it is down, Get always misses: services read
//     the store, as they would without a cache. Up flushes every cache
//     before hits are allowed again, because notifications sent while no
//     connection was listening are lost.
//   - No stale fill. A Put is dropped when the cache was invalidated or
//     flushed after its Ticket was taken: the value was read before (or
//     while) a change committed whose invalidation has already been
//     applied, so it may be older than that change. This is what makes it
//     safe to read the store and fill the cache without a lock around both.
//   - Copies out. A Cache stores a copy of what is Put and returns a copy
//     on Get and Peek, made by the clone function it was built with, so no
//     caller can change what another caller sees.
//   - Bounded. A Cache holds at most its size; a Put into a full cache
//     evicts an arbitrary entry (Go's map order), which costs a store read
//     later, never a wrong answer.
//
// What remains is the window between a commit on one replica and the
// delivery of its NOTIFY on another (normally well under a millisecond on
// one network): a read on the other replica in that window may still see
// the old row, as it would have had it arrived a moment earlier. A
// listener connection that dies silently (no TCP reset) is noticed by the
// listener's periodic ping, so the window is then bounded by that period.
package cache

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Channel is the PostgreSQL notification channel of cache invalidations.
const Channel = "coffer_cache"

// maxPayload is the largest payload Message.Payload returns: PostgreSQL
// refuses NOTIFY payloads of 8000 bytes or more.
const maxPayload = 7900

// Op is what an invalidation Message does to the caches of its topic.
type Op byte

// The invalidation operations.
const (
	OpKey   Op = 'k' // drop the entry with key Arg
	OpTag   Op = 't' // drop every entry tagged Arg
	OpFlush Op = '*' // drop every entry of the topic
)

// Message is one invalidation: Op with Arg on the caches of Topic. Topics
// are chosen by the services (such as "token" or "transit") and must not
// contain ':'.
type Message struct {
	Topic string
	Op    Op
	Arg   string
}

// Key returns the Message that drops key from the caches of topic.
func Key(topic, key string) Message { return Message{Topic: topic, Op: OpKey, Arg: key} }

// Tag returns the Message that drops the entries tagged tag from the
// caches of topic.
func Tag(topic, tag string) Message { return Message{Topic: topic, Op: OpTag, Arg: tag} }

// Flush returns the Message that empties the caches of topic.
func Flush(topic string) Message { return Message{Topic: topic, Op: OpFlush} }

// Payload encodes m as a NOTIFY payload: "<topic>:<op>:<arg>". A Message
// that cannot be a payload (too long, a NUL byte, not UTF-8) becomes a
// flush of its topic, which is always correct.
func (m Message) Payload() string {
	if m.Op != OpKey && m.Op != OpTag || len(m.Topic)+len(m.Arg)+3 > maxPayload ||
		strings.IndexByte(m.Arg, 0) >= 0 || !utf8.ValidString(m.Arg) {
		return m.Topic + ":" + string(OpFlush) + ":"
	}
	return m.Topic + ":" + string(m.Op) + ":" + m.Arg
}

// ParsePayload decodes what Payload made; ok is false for anything else.
func ParsePayload(p string) (m Message, ok bool) {
	topic, rest, ok1 := strings.Cut(p, ":")
	op, arg, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || topic == "" || len(op) != 1 {
		return Message{}, false
	}
	m = Message{Topic: topic, Op: Op(op[0]), Arg: arg}
	switch m.Op {
	case OpKey, OpTag:
		return m, true
	case OpFlush:
		m.Arg = ""
		return m, true
	}
	return Message{}, false
}

// invalidator is what the Bus needs of a Cache.
type invalidator interface {
	Apply(m Message)
	Flush()
	counts() (hits, misses uint64)
}

// Bus tells the caches registered with it whether they may serve hits,
// and delivers invalidations to them. It is safe for concurrent use.
type Bus struct {
	healthy  atomic.Bool
	connects atomic.Uint64

	mu     sync.RWMutex
	topics map[string][]invalidator
}

// NewBus returns a Bus for replicas that share a database: down (no hits)
// until its listener calls Up.
func NewBus() *Bus { return &Bus{topics: map[string][]invalidator{}} }

// NewLocalBus returns a Bus for a store that only this process writes,
// through the services whose caches use it: always healthy, since every
// write invalidates its service's cache directly.
func NewLocalBus() *Bus {
	b := NewBus()
	b.healthy.Store(true)
	return b
}

// Healthy reports whether caches may serve hits: the listener is
// connected (or the bus is local).
func (b *Bus) Healthy() bool { return b != nil && b.healthy.Load() }

// Connects counts the calls of Up: how often the listener has
// (re)connected.
func (b *Bus) Connects() uint64 { return b.connects.Load() }

// Up flushes every registered cache and then allows hits. The listener
// calls it once it LISTENs on a fresh connection.
func (b *Bus) Up() {
	b.mu.RLock()
	for _, cs := range b.topics {
		for _, c := range cs {
			c.Flush()
		}
	}
	b.mu.RUnlock()
	b.connects.Add(1)
	b.healthy.Store(true)
}

// Down stops hits until the next Up. The listener calls it as soon as its
// connection fails.
func (b *Bus) Down() { b.healthy.Store(false) }

// Deliver applies m to the caches of its topic. A topic nothing
// registered is ignored.
func (b *Bus) Deliver(m Message) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, c := range b.topics[m.Topic] {
		c.Apply(m)
	}
}

// FlushAll empties every registered cache, for a payload the listener
// cannot parse (a newer replica's, say).
func (b *Bus) FlushAll() {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, cs := range b.topics {
		for _, c := range cs {
			c.Flush()
		}
	}
}

func (b *Bus) register(topic string, c invalidator) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.topics[topic] = append(b.topics[topic], c)
}

// Cache is a bounded map from string keys to values of type V, each with
// an optional tag (such as the mount of a transit key) by which entries
// can be dropped together. See the package documentation for its rules.
// It is safe for concurrent use.
type Cache[V any] struct {
	bus   *Bus
	size  int
	clone func(V) V

	hits, misses atomic.Uint64 // of Get, for the metrics

	mu    sync.RWMutex
	gen   uint64
	items map[string]entry[V]
	tags  map[string]map[string]struct{}
}

type entry[V any] struct {
	v        V
	tag      string
	verified bool // Put with a current Ticket; false for Remember
}

// New returns a Cache of at most size entries (at least 1) for the
// invalidations of topic on bus. clone copies a value, deeply enough that
// the copy shares nothing a caller could change. A nil bus gives a Cache
// that never hits (Get always misses) but still answers Peek.
func New[V any](bus *Bus, topic string, size int, clone func(V) V) *Cache[V] {
	c := &Cache[V]{bus: bus, size: max(size, 1), clone: clone,
		items: map[string]entry[V]{}, tags: map[string]map[string]struct{}{}}
	if bus != nil {
		bus.register(topic, c)
	}
	return c
}

// Get returns a copy of the value cached under key, when the bus is
// healthy; ok is false on a miss and whenever the bus is down.
func (c *Cache[V]) Get(key string) (v V, ok bool) {
	if !c.bus.Healthy() {
		c.misses.Add(1)
		return v, false
	}
	v, ok = c.lookup(key, true)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

func (c *Cache[V]) counts() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// Peek returns a copy of the value cached under key whether or not the bus
// is healthy. It is for comparing with what the caller has just read from
// the store (say, to skip decoding a row that did not change); never serve
// a Peek'd value without such a read.
func (c *Cache[V]) Peek(key string) (v V, ok bool) {
	return c.lookup(key, false)
}

func (c *Cache[V]) lookup(key string, verified bool) (v V, ok bool) {
	c.mu.RLock()
	e, ok := c.items[key]
	c.mu.RUnlock()
	if !ok || verified && !e.verified {
		return v, false
	}
	return c.clone(e.v), true
}

// Ticket marks the state of a Cache before a store read; see Put.
type Ticket struct{ gen uint64 }

// Ticket returns the Ticket to Put a value read from the store after this
// call.
func (c *Cache[V]) Ticket() Ticket {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Ticket{c.gen}
}

// Put caches a copy of v under key with tag ("" for none), unless the
// cache was invalidated or flushed since t was taken: then v may predate a
// change and Put drops it.
func (c *Cache[V]) Put(t Ticket, key, tag string, v V) {
	v = c.clone(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.gen != c.gen {
		return
	}
	c.store(key, entry[V]{v: v, tag: tag, verified: true})
}

// Remember caches a copy of v under key with tag for Peek only: Get does
// not serve it until it is Put with a Ticket. A writer uses it for what it
// has just written, which a later store read can then confirm by Peek
// (without decoding the row again) and Put.
func (c *Cache[V]) Remember(key, tag string, v V) {
	v = c.clone(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(key, entry[V]{v: v, tag: tag})
}

// store sets the entry of key, evicting another when full; the caller
// holds mu.
func (c *Cache[V]) store(key string, e entry[V]) {
	if old, ok := c.items[key]; ok {
		c.untag(key, old.tag)
	} else if len(c.items) >= c.size {
		for k, e := range c.items { // Go's map order: an arbitrary victim
			c.untag(k, e.tag)
			delete(c.items, k)
			break
		}
	}
	c.items[key] = e
	if e.tag != "" {
		keys := c.tags[e.tag]
		if keys == nil {
			keys = map[string]struct{}{}
			c.tags[e.tag] = keys
		}
		keys[key] = struct{}{}
	}
}

// Len returns the number of cached entries.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Invalidate drops the entry of key.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.items[key]; ok {
		c.untag(key, e.tag)
		delete(c.items, key)
	}
}

// InvalidateTag drops every entry tagged tag.
func (c *Cache[V]) InvalidateTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.tags[tag] {
		delete(c.items, k)
	}
	delete(c.tags, tag)
}

// Flush drops every entry.
func (c *Cache[V]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.items)
	clear(c.tags)
}

// Apply applies the invalidation m, whatever its topic: a service calls it
// for its own writes, the Bus for every delivered message of the topic.
func (c *Cache[V]) Apply(m Message) {
	switch m.Op {
	case OpKey:
		c.Invalidate(m.Arg)
	case OpTag:
		c.InvalidateTag(m.Arg)
	default:
		c.Flush()
	}
}

// untag removes key from the index of tag; the caller holds mu.
func (c *Cache[V]) untag(key, tag string) {
	if tag == "" {
		return
	}
	if keys := c.tags[tag]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(c.tags, tag)
		}
	}
}
