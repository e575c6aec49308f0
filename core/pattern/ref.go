// Package pattern holds the pattern lists that ACLs and maps match
// against (manual 7.1 and the map converters of 7.3.1): references loaded
// from files or written inline, shared process-wide by name so that the
// runtime API ("add map", "del acl"...) and Lua's Map, Patref and
// core.set_map modify the very object the rules use, and per match type
// indexes (a hash for exact strings, longest-prefix tables for "beg" and
// IP addresses, compiled regexes, ordered lists for the rest).
//
// It knows nothing of samples: callers hand it strings, integers and
// addresses.
package pattern

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Entry is one line of a reference: a key (the pattern) and, for maps, a
// value.
type Entry struct {
	Key   string
	Value string
	ID    uint64 // unique in the reference, in insertion order
	// Line is the entry's line in the file it was loaded from, 0 for an
	// entry added at runtime (for the errors' "at line N of file").
	Line int
}

// Ref is a pattern reference (HAProxy's pat_ref): an ordered list of
// entries with the indexes built on it. It is safe for concurrent use.
type Ref struct {
	// Name is the file name as written in the configuration, or "#<n>"
	// for patterns written inline.
	Name string
	// IsMap tells whether entries carry values.
	IsMap bool
	// Display is how the runtime API shows the reference ("acl 'x' file
	// 'f' line 3").
	Display string

	mu      sync.RWMutex
	entries []*Entry
	nextID  uint64
	gen     atomic.Uint64
	exprs   []*Expr
	watch   watchers
}

var registry = struct {
	sync.Mutex
	refs map[string]*Ref
	anon int
}{refs: map[string]*Ref{}}

// Lookup returns the reference registered under name (a file name or
// "#<n>").
func Lookup(name string) (*Ref, bool) {
	registry.Lock()
	defer registry.Unlock()
	r, ok := registry.refs[name]
	return r, ok
}

// Refs returns every registered reference, by name.
func Refs() map[string]*Ref {
	registry.Lock()
	defer registry.Unlock()
	out := make(map[string]*Ref, len(registry.refs))
	for k, v := range registry.refs {
		out[k] = v
	}
	return out
}

// New registers an empty reference named name, or returns the existing
// one of that name (references are shared by name, like HAProxy's).
func New(name string, isMap bool) *Ref {
	registry.Lock()
	defer registry.Unlock()
	if r, ok := registry.refs[name]; ok {
		if isMap {
			r.IsMap = true
		}
		return r
	}
	r := &Ref{Name: name, IsMap: isMap}
	registry.refs[name] = r
	return r
}

// NewAnonymous registers an empty reference for inline patterns, named
// "#<n>".
func NewAnonymous(isMap bool) *Ref {
	registry.Lock()
	registry.anon++
	name := "#" + strconv.Itoa(registry.anon)
	registry.Unlock()
	return New(name, isMap)
}

// Load returns the reference for file name, reading the file the first
// time. Maps read "key value" lines (the value is the rest of the line);
// ACL files one pattern per line. Blank lines and lines starting with '#'
// are skipped; leading and trailing blanks are removed.
func Load(name string, isMap bool) (*Ref, error) {
	registry.Lock()
	r, ok := registry.refs[name]
	registry.Unlock()
	if ok {
		return r, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("failed to open pattern file <%s>", name)
	}
	defer f.Close()
	r = &Ref{Name: name, IsMap: isMap}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, value := line, ""
		if isMap {
			if i := strings.IndexAny(line, " \t"); i >= 0 {
				key, value = line[:i], strings.TrimSpace(line[i:])
			}
		}
		r.nextID++
		r.entries = append(r.entries, &Entry{Key: key, Value: value, ID: r.nextID, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("failed to read pattern file <%s> : %v", name, err)
	}
	registry.Lock()
	defer registry.Unlock()
	if old, ok := registry.refs[name]; ok {
		return old, nil
	}
	registry.refs[name] = r
	return r, nil
}

// Unregister removes name from the registry (tests, reloads).
func Unregister(name string) {
	registry.Lock()
	delete(registry.refs, name)
	registry.Unlock()
}

// Generation changes whenever the reference changes; a cache of lookups
// keyed by it stays valid while it does not change.
func (r *Ref) Generation() uint64 { return r.gen.Load() }

// Len returns the number of entries.
func (r *Ref) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.entries)
}

// Entries returns a copy of the entries, in order.
func (r *Ref) Entries() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, len(r.entries))
	for i, e := range r.entries {
		out[i] = *e
	}
	return out
}

// Add appends an entry. Every index built on the reference must accept
// the key (and, for typed map outputs, the value), else nothing changes
// and the error says why.
func (r *Ref) Add(key, value string) error {
	if err := r.add(key, value); err != nil {
		return err
	}
	r.notify(ChangeAdd)
	return nil
}

func (r *Ref) add(key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	e := &Entry{Key: key, Value: value, ID: r.nextID}
	for _, x := range r.exprs {
		if err := x.check(e); err != nil {
			return err
		}
	}
	r.entries = append(r.entries, e)
	for _, x := range r.exprs {
		x.insert(e)
	}
	r.gen.Add(1)
	return nil
}

// Set changes the value of every entry whose key is key and reports how
// many it changed.
func (r *Ref) Set(key, value string) (int, error) {
	n, err := r.set(key, value)
	if n > 0 {
		r.notify(ChangeSet)
	}
	return n, err
}

func (r *Ref) set(key, value string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	probe := &Entry{Key: key, Value: value}
	for _, x := range r.exprs {
		if err := x.check(probe); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, e := range r.entries {
		if e.Key == key {
			e.Value = value
			n++
		}
	}
	if n > 0 {
		r.gen.Add(1)
	}
	return n, nil
}

// Del removes every entry whose key is key and reports how many.
func (r *Ref) Del(key string) int {
	n := r.del(key)
	if n > 0 {
		r.notify(ChangeDel)
	}
	return n
}

func (r *Ref) del(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.entries[:0]
	n := 0
	for _, e := range r.entries {
		if e.Key == key {
			n++
			continue
		}
		kept = append(kept, e)
	}
	clear(r.entries[len(kept):])
	r.entries = kept
	if n > 0 {
		r.rebuildLocked()
	}
	return n
}

// DelID removes the entry with the given ID ("del map #<id>").
func (r *Ref) DelID(id uint64) bool {
	ok := r.delID(id)
	if ok {
		r.notify(ChangeDel)
	}
	return ok
}

func (r *Ref) delID(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.entries {
		if e.ID == id {
			r.entries = append(r.entries[:i], r.entries[i+1:]...)
			r.rebuildLocked()
			return true
		}
	}
	return false
}

// Clear removes every entry.
func (r *Ref) Clear() {
	r.mu.Lock()
	r.entries = nil
	r.rebuildLocked()
	r.mu.Unlock()
	r.notify(ChangeClear)
}

// Find returns the entries whose key is key.
func (r *Ref) Find(key string) []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Entry
	for _, e := range r.entries {
		if e.Key == key {
			out = append(out, *e)
		}
	}
	return out
}

func (r *Ref) rebuildLocked() {
	for _, x := range r.exprs {
		x.reset()
		for _, e := range r.entries {
			x.insert(e)
		}
	}
	r.gen.Add(1)
}
