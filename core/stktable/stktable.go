// Package stktable implements HAProxy's stick tables: keyed entries
// (IPv4, IPv6, integer, string or binary keys) holding counters, rates and
// tags, bounded in size with eviction of the least recently touched
// entries, and expiring after a delay. It knows nothing of streams or
// proxies; the engine glue (core/stick*.go) tracks entries per stream.
package stktable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyType is the type of a table's keys ("type" argument).
type KeyType uint8

// The key types.
const (
	KeyIP      KeyType = iota // IPv4 address, 4 bytes
	KeyIPv6                   // IPv6 address, 16 bytes
	KeyInteger                // unsigned 32-bit integer, 4 bytes big-endian
	KeyString                 // string of up to Len bytes
	KeyBinary                 // binary block of exactly Len bytes (zero-padded)
)

var keyTypeNames = [...]string{"ip", "ipv6", "integer", "string", "binary"}

// String returns HAProxy's name of the key type, as "show table" prints it.
func (k KeyType) String() string { return keyTypeNames[k] }

// Config is a parsed "stick-table" declaration.
type Config struct {
	// Name is the table's name: its proxy's name.
	Name string
	Type KeyType
	// KeyLen is the key length for string and binary keys (default 32).
	KeyLen int
	// Size is the maximum number of entries.
	Size int
	// Expire is the entries' lifetime after their last touch; 0 = never.
	Expire time.Duration
	// NoPurge refuses new entries when the table is full instead of
	// evicting the oldest ones.
	NoPurge bool
	// Store lists the stored data types; Periods[t] is the period of
	// rate type t.
	Store   []DataType
	Periods [NumDataTypes]time.Duration
	// Elems[t] is the number of elements of array type t (gpc(3): 3).
	Elems [NumDataTypes]int
}

// Errors of the table operations.
var (
	// ErrFull is returned when an entry cannot be created: the table is
	// full and nothing can be evicted (nopurge, or every entry in use).
	ErrFull = errors.New("stick table full")
	// ErrBadKey is returned for a key that does not fit the table's type.
	ErrBadKey = errors.New("Invalid key")
	// ErrNotStored is returned for a data type the table does not store.
	ErrNotStored = errors.New("Data type not stored in this table")
)

// Table is a stick table. Its methods are safe for concurrent use.
type Table struct {
	Config
	// Now returns the current time in milliseconds; tests replace it. It
	// must be set before the table is used (New sets the wall clock).
	Now func() int64

	mu      sync.Mutex
	slot    [NumDataTypes]int16 // data type -> index in Entry.data (its first element), -1 if not stored
	nslots  int
	entries map[string]*Entry
	lru     Entry // sentinel of the touch-ordered list: lru.next is the most recent
}

// Entry is one key of a table with its data. Its fields are guarded by
// the table's mutex; use the table's methods.
type Entry struct {
	key        string
	srvKey     string // ServerKey
	ref        int    // trackers ("use")
	expire     int64  // ms; 0: never
	data       []value
	prev, next *Entry
}

// value is one stored datum: a counter (n) or a frequency counter (f).
type value struct {
	n int64
	f freqCtr
}

// Key returns the entry's key in the table's binary form.
func (e *Entry) Key() string { return e.key }

// New returns an empty table for cfg.
func New(cfg Config) *Table {
	t := &Table{Config: cfg, entries: map[string]*Entry{}}
	t.Now = func() int64 { return time.Now().UnixMilli() }
	for i := range t.slot {
		t.slot[i] = -1
	}
	for _, d := range cfg.Store {
		if t.slot[d] < 0 {
			t.slot[d] = int16(t.nslots)
			t.nslots += t.elems(d)
		}
	}
	t.lru.next, t.lru.prev = &t.lru, &t.lru
	return t
}

// Stores tells whether the table stores data type d, itself or through
// the array that replaces it (gpc0 is gpc's element 0).
func (t *Table) Stores(d DataType) bool {
	i, _ := t.index(d, 0)
	return i >= 0
}

// Declares tells whether the "store" list names d itself.
func (t *Table) Declares(d DataType) bool { return t.slot[d] >= 0 }

// Len returns the number of live entries.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purgeLocked(t.Now())
	return len(t.entries)
}

// Key conversion.

// IPKey returns the key of address a, or false if a cannot be stored in
// the table (an IPv6 address in an "ip" table, unless IPv4-mapped).
func (t *Table) IPKey(a netip.Addr) (string, bool) {
	switch t.Type {
	case KeyIP:
		a = a.Unmap()
		if !a.Is4() {
			return "", false
		}
		b := a.As4()
		return string(b[:]), true
	case KeyIPv6:
		b := a.As16() // IPv4 addresses become ::ffff:a.b.c.d
		return string(b[:]), true
	case KeyInteger:
		return "", false
	}
	return t.StringKey(a.String()), true
}

// IntKey returns the key of integer v (truncated to 32 bits).
func (t *Table) IntKey(v int64) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return string(b[:])
}

// StringKey returns the key of string or binary block s: truncated to the
// key length, and zero-padded for binary keys.
func (t *Table) StringKey(s string) string {
	if len(s) > t.KeyLen {
		s = s[:t.KeyLen]
	}
	if t.Type == KeyBinary && len(s) < t.KeyLen {
		s += strings.Repeat("\x00", t.KeyLen-len(s))
	}
	return s
}

// ParseKey parses a key as typed on the runtime API: an address, a
// decimal integer, a string, or hex digits for binary keys.
func (t *Table) ParseKey(s string) (string, error) {
	switch t.Type {
	case KeyIP, KeyIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", ErrBadKey
		}
		if k, ok := t.IPKey(a); ok {
			return k, nil
		}
		return "", ErrBadKey
	case KeyInteger:
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return "", ErrBadKey
		}
		return t.IntKey(int64(v)), nil
	case KeyBinary:
		var b []byte
		if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
			return "", ErrBadKey
		}
		return t.StringKey(string(b)), nil
	}
	return t.StringKey(s), nil
}

// FormatKey returns key k as "show table" prints it.
func (t *Table) FormatKey(k string) string {
	switch t.Type {
	case KeyIP, KeyIPv6:
		a, _ := netip.AddrFromSlice([]byte(k))
		return a.String()
	case KeyInteger:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32([]byte(k))), 10)
	case KeyBinary:
		return fmt.Sprintf("%x", k)
	}
	if i := strings.IndexByte(k, 0); i >= 0 {
		k = k[:i]
	}
	return k
}

// Entry lookup and life cycle.

// Lookup returns the live entry of key k, or nil. It does not touch it
// (the table_* converters and src_* fetches read without refreshing).
func (t *Table) Lookup(k string) *Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookupLocked(k, t.Now())
}

func (t *Table) lookupLocked(k string, now int64) *Entry {
	e := t.entries[k]
	if e != nil && t.expiredLocked(e, now) {
		t.removeLocked(e)
		return nil
	}
	return e
}

func (t *Table) expiredLocked(e *Entry, now int64) bool {
	return e.ref == 0 && e.expire != 0 && now >= e.expire
}

// Get returns the entry of key k, created if missing, and touches it
// (refreshes its expiration date). It fails with ErrFull.
func (t *Table) Get(k string) (*Entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.getLocked(k)
}

func (t *Table) getLocked(k string) (*Entry, error) {
	now := t.Now()
	e := t.lookupLocked(k, now)
	if e == nil {
		if len(t.entries) >= t.Size {
			t.purgeLocked(now)
			if len(t.entries) >= t.Size && (t.NoPurge || !t.evictLocked()) {
				return nil, ErrFull
			}
		}
		e = &Entry{key: k, data: make([]value, t.nslots)}
		t.entries[k] = e
		e.next, e.prev = t.lru.next, &t.lru
		t.lru.next.prev = e
		t.lru.next = e
	}
	t.touchLocked(e, now)
	return e, nil
}

// touchLocked refreshes e's expiration date and moves it to the front of
// the eviction order.
func (t *Table) touchLocked(e *Entry, now int64) {
	if t.Expire > 0 {
		e.expire = now + t.Expire.Milliseconds()
		if e.expire == 0 {
			e.expire = 1
		}
	}
	if t.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.next, e.prev = t.lru.next, &t.lru
	t.lru.next.prev = e
	t.lru.next = e
}

// Touch refreshes e's expiration date.
func (t *Table) Touch(e *Entry) {
	t.mu.Lock()
	t.touchLocked(e, t.Now())
	t.mu.Unlock()
}

// Track returns the entry of key k, created if needed, touched, and
// marked in use (it is not expired nor evicted until Release).
func (t *Table) Track(k string) (*Entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.getLocked(k)
	if err == nil {
		e.ref++
	}
	return e, err
}

// Hold marks an entry already known in use, as Track does.
func (t *Table) Hold(e *Entry) {
	t.mu.Lock()
	e.ref++
	t.mu.Unlock()
}

// Release ends a Track: the entry is touched and, once no tracker holds
// it, may expire again.
func (t *Table) Release(e *Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.ref > 0 {
		e.ref--
	}
	if t.entries[e.key] == e {
		t.touchLocked(e, t.Now())
	}
}

// Refs returns the number of trackers of e ("use").
func (t *Table) Refs(e *Entry) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return e.ref
}

// Delete removes the entry of key k if no tracker holds it; it returns
// false if the entry is in use.
func (t *Table) Delete(k string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		return true
	}
	if e.ref > 0 {
		return false
	}
	t.removeLocked(e)
	return true
}

// Clear removes the unused entries for which keep returns false (nil
// keep removes them all).
func (t *Table) Clear(match func(e *Entry) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.entries {
		if e.ref == 0 && (match == nil || match(e)) {
			t.removeLocked(e)
		}
	}
}

func (t *Table) removeLocked(e *Entry) {
	delete(t.entries, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = e, e
}

// purgeLocked removes the expired entries: those at the back of the
// touch order first, which is where they are unless tracked.
func (t *Table) purgeLocked(now int64) {
	if t.Expire == 0 {
		return
	}
	for e := t.lru.prev; e != &t.lru; {
		prev := e.prev
		if t.expiredLocked(e, now) {
			t.removeLocked(e)
		} else if e.ref == 0 {
			break // touched later than every entry before it
		}
		e = prev
	}
}

// evictLocked removes the least recently touched unused entry.
func (t *Table) evictLocked() bool {
	for e := t.lru.prev; e != &t.lru; e = e.prev {
		if e.ref == 0 {
			t.removeLocked(e)
			return true
		}
	}
	return false
}

// Entries returns the live entries sorted by key (HAProxy's tree order),
// each with its remaining lifetime in ms and its number of trackers.
func (t *Table) Entries() []Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	t.purgeLocked(now)
	out := make([]Snapshot, 0, len(t.entries))
	for _, e := range t.entries {
		if t.expiredLocked(e, now) {
			continue
		}
		out = append(out, t.snapshotLocked(e, now))
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare([]byte(out[i].Key), []byte(out[j].Key)) < 0 })
	return out
}

// Snapshot is a copy of an entry at one instant.
type Snapshot struct {
	Entry *Entry
	Key   string
	Use   int
	// Exp is the remaining lifetime in ms (0: never expires, or expired).
	Exp int64
	// Values holds every stored data type's value (rates read now); for
	// an array, its first element.
	Values [NumDataTypes]int64
	// Elems holds the elements of the stored array types.
	Elems [NumDataTypes][]int64
	// ServerKey is the server_key, when stored.
	ServerKey string
}

func (t *Table) snapshotLocked(e *Entry, now int64) Snapshot {
	s := Snapshot{Entry: e, Key: e.key, Use: e.ref, ServerKey: e.srvKey}
	if e.expire != 0 && e.expire > now {
		s.Exp = e.expire - now
	}
	for _, d := range t.Store {
		s.Values[d], _ = t.readLocked(e, d, now)
		if d.IsArray() {
			s.Elems[d] = make([]int64, t.elems(d))
			for i := range s.Elems[d] {
				s.Elems[d][i], _ = t.readElemLocked(e, d, i, now)
			}
		}
	}
	return s
}
