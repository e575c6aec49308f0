package core

import "luaproxy/core/stktable"

// StickTable returns the proxy's stick table ("stick-table" in its
// section), or nil: Lua's Proxy.stktable.
func (px *Proxy) StickTable() *stktable.Table {
	if px.engine == nil {
		return nil
	}
	if t := px.engine.stickTable(px.Name); t != nil && t.px == px {
		return t.Table
	}
	return nil
}
