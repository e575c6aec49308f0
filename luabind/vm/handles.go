//go:build lua53

package vm

// handles maps the integers stored in Lua objects' [0] slot to Go values.
// Lua never holds a Go pointer: it holds gen<<32|index, and a stale handle
// (a request-scoped object kept by a script past its request) finds a newer
// generation and is refused instead of reaching another request's data.
type handles struct {
	slots []handleSlot
	free  []uint32
}

type handleSlot struct {
	v     any
	class int32 // class index, -1 when free
	gen   uint32
}

func (t *handles) add(v any, class int32) int64 {
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		idx = uint32(len(t.slots))
		t.slots = append(t.slots, handleSlot{})
	}
	s := &t.slots[idx]
	s.gen++
	s.v = v
	s.class = class
	return int64(s.gen)<<32 | int64(idx)
}

// get returns the value and class of a live handle.
func (t *handles) get(h int64) (any, int32, bool) {
	idx := uint32(h)
	if int(idx) >= len(t.slots) {
		return nil, 0, false
	}
	s := &t.slots[idx]
	if s.gen != uint32(h>>32) || s.class < 0 || s.v == nil {
		return nil, 0, false
	}
	return s.v, s.class, true
}

func (t *handles) release(h int64) {
	idx := uint32(h)
	if int(idx) >= len(t.slots) {
		return
	}
	s := &t.slots[idx]
	if s.gen != uint32(h>>32) || s.v == nil {
		return
	}
	v := s.v
	s.v = nil
	s.class = -1
	t.free = append(t.free, idx)
	if r, ok := v.(Releaser); ok {
		r.Released()
	}
}

// Releaser is implemented by Go values that hold resources to free when
// their Lua object is collected (or, for invocation-scoped objects, when
// the invocation ends). Released runs with the state held and must not
// block or call into Lua.
type Releaser interface{ Released() }

// live counts the handles in use (for tests and leak checks).
func (t *handles) live() int { return len(t.slots) - len(t.free) }
