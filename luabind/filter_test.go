//go:build lua53

package luabind

import (
	"strings"
	"testing"
)

// TestFilterGlobal checks the filter table's constants (HAProxy's values)
// and that its functions and core.register_filter refuse the wrong
// context.
func TestFilterGlobal(t *testing.T) {
	ts := newTestState(t)
	ts.want(ctxBody, `return filter.CONTINUE .. " " .. filter.WAIT .. " " .. filter.ERROR .. " " .. filter.FLT_CFG_FL_HTX`, "1 0 -1 1")
	ts.want(ctxBody, `core.register_filter("f", {}, function(f, a) return f end) return "ok"`, "ok")
	for _, tc := range []struct {
		ctx  context
		lua  string
		want string
	}{
		{ctxAction, `core.register_filter("f", {}, function() end)`, "register_filter: not available outside of body context"},
		{ctxBody, `core.register_filter("f", {}, 1)`, "bad argument #3"},
		{ctxAction, `filter.wake_time(10)`, "filter.wake_time: not available outside of filter context"},
		{ctxAction, `filter.register_data_filter({}, txn)`, "bad argument #2"},
	} {
		_, err := ts.run(tc.ctx, tc.lua)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %s: got %v, want %q", tc.ctx, tc.lua, err, tc.want)
		}
	}
}
