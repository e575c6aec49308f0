package pattern

// Replace swaps the reference's entries for entries in one step (Lua's
// Patref:commit(), the runtime API's "commit map"): every index must
// accept every entry, else nothing changes and the error says why.
func (r *Ref) Replace(entries []Entry) error {
	if err := r.replace(entries); err != nil {
		return err
	}
	r.notify(ChangeCommit)
	return nil
}

func (r *Ref) replace(entries []Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := make([]*Entry, 0, len(entries))
	for _, e := range entries {
		r.nextID++
		ne := &Entry{Key: e.Key, Value: e.Value, ID: r.nextID}
		for _, x := range r.exprs {
			if err := x.check(ne); err != nil {
				return err
			}
		}
		next = append(next, ne)
	}
	r.entries = next
	r.rebuildLocked()
	return nil
}
