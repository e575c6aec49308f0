package pattern

import "sync"

// Change is a kind of modification of a reference, as HAProxy's PAT_REF
// event family names them. Lua's Patref:event_sub() subscribes to them.
type Change uint8

// The changes. A bulk operation reports one change per element for
// ChangeAdd (HAProxy publishes PAT_REF_ADD per appended element) and one
// per call otherwise.
const (
	ChangeAdd    Change = 1 << iota // an element was added to the live version
	ChangeDel                       // elements were deleted from the live version
	ChangeSet                       // elements of the live version were modified
	ChangeClear                     // every element of the live version was removed
	ChangeCommit                    // a prepared version replaced the live one

	ChangeAll = ChangeAdd | ChangeDel | ChangeSet | ChangeClear | ChangeCommit
)

var changeNames = []struct {
	name string
	c    Change
}{
	{"PAT_REF_ADD", ChangeAdd},
	{"PAT_REF_DEL", ChangeDel},
	{"PAT_REF_SET", ChangeSet},
	{"PAT_REF_CLEAR", ChangeClear},
	{"PAT_REF_COMMIT", ChangeCommit},
	{"PAT_REF", ChangeAll},
}

// ParseChange returns the change named by a PAT_REF event type name
// ("PAT_REF_ADD", or "PAT_REF" for all of them).
func ParseChange(name string) (Change, bool) {
	for _, n := range changeNames {
		if n.name == name {
			return n.c, true
		}
	}
	return 0, false
}

// String returns the event type name of a single change.
func (c Change) String() string {
	for _, n := range changeNames {
		if n.c == c {
			return n.name
		}
	}
	return "PAT_REF"
}

// watchers are the subscriptions of one reference. They are kept apart
// from the entries' lock: a notification runs after the change is done
// and visible, with no lock of the reference held.
type watchers struct {
	mu   sync.Mutex
	list []*watcher
}

type watcher struct {
	mask Change
	fn   func(Change)
}

// Watch calls fn after each change in mask to the reference, from the
// goroutine that made it; fn must not block. The returned function ends
// the subscription (it may be called more than once).
func (r *Ref) Watch(mask Change, fn func(Change)) (cancel func()) {
	w := &watcher{mask: mask, fn: fn}
	r.watch.mu.Lock()
	r.watch.list = append(r.watch.list, w)
	r.watch.mu.Unlock()
	return func() {
		r.watch.mu.Lock()
		defer r.watch.mu.Unlock()
		for i, x := range r.watch.list {
			if x == w {
				r.watch.list = append(r.watch.list[:i:i], r.watch.list[i+1:]...)
				return
			}
		}
	}
}

// notify reports change c to the watchers that asked for it.
func (r *Ref) notify(c Change) {
	r.watch.mu.Lock()
	list := r.watch.list
	r.watch.mu.Unlock()
	for _, w := range list {
		if w.mask&c != 0 {
			w.fn(c)
		}
	}
}
