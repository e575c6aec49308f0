package stktable

// Server persistence ("stick on", "stick match", "stick store-*"): the
// entry of a key holds the id and the name of the server it sticks to.
// HAProxy adds these two data types to any table a stick rule uses,
// whatever its "store" list says.

// Enable adds data type d to the table's stored types (kept in the
// declaration order of "show table" by its type number); existing
// entries get it as zero.
func (t *Table) Enable(d DataType) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.slot[d] >= 0 {
		return
	}
	t.slot[d] = int16(t.nslots)
	t.nslots += t.elems(d)
	t.Store = append(t.Store, d)
	for _, e := range t.entries {
		e.data = append(e.data, make([]value, t.elems(d))...)
	}
}

// SetServer makes e stick to the server with id and name: server_id and
// server_key, as far as the table stores them; it touches e.
func (t *Table) SetServer(e *Entry, id int64, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := t.slot[ServerID]; i >= 0 {
		e.data[i].n = id
	}
	if t.slot[ServerKey] >= 0 {
		e.srvKey = name
	}
	t.touchLocked(e, t.Now())
}
