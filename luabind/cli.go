//go:build lua53

package luabind

import (
	"bytes"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// cliCommand is one core.register_cli() registration of a state.
type cliCommand struct {
	ls *LState
	fn vm.Ref
}

// cliRegs maps engine -> command words -> registration: core.RegisterCLI
// is process-wide, so its handler finds the registering engine's state.
var cliRegs sync.Map // *core.Engine -> *sync.Map (string -> *cliCommand)

// luaRegisterCLI implements core.register_cli(path, usage, func): the
// words of path become a runtime API command on the stats socket; func
// runs with an AppletTCP (applet:send() writes the answer, receive/getline
// read the payload after "<<") and the command's words as arguments.
// Body context only.
func luaRegisterCLI(c *vm.Call) (int, error) {
	if err := bodyOnly(c, "register_cli"); err != nil {
		return 0, err
	}
	if err := c.CheckType(1, vm.TypeTable); err != nil {
		return 0, err
	}
	usage, err := c.String(2)
	if err != nil {
		return 0, err
	}
	if err := c.CheckType(3, vm.TypeFunction); err != nil {
		return 0, err
	}
	tbl, _ := c.Value(1).(map[any]any)
	type kv struct {
		i int64
		w string
	}
	var words []kv
	for k, v := range tbl {
		i, ok1 := k.(int64)
		w, ok2 := v.(string)
		if !ok1 || !ok2 {
			return 0, c.ArgError(1, "array of strings expected")
		}
		words = append(words, kv{i, w})
	}
	if len(words) == 0 || len(words) > 5 {
		return 0, c.ArgError(1, "1 to 5 words expected")
	}
	sort.Slice(words, func(a, b int) bool { return words[a].i < words[b].i })
	path := make([]string, len(words))
	for i, w := range words {
		path[i] = w.w
	}
	ref, err := c.Ref(3)
	if err != nil {
		return 0, err
	}
	ls := lsOf(c)
	regs, _ := cliRegs.LoadOrStore(ls.rt.e, &sync.Map{})
	key := strings.Join(path, " ")
	if old, ok := regs.(*sync.Map).Swap(key, &cliCommand{ls: ls, fn: ref}); ok {
		ls.Unref(old.(*cliCommand).fn)
		if old.(*cliCommand).ls == ls { // not another thread's state
			warnTwice(ls, "CLI keyword", key)
		}
	}
	core.RegisterCLI(core.CLICommand{
		Words: path,
		Usage: usage,
		Level: core.CLIUser,
		Fn:    func(r *core.CLIRequest) { runCLI(r, key) },
	})
	return 0, nil
}

// runCLI runs a Lua CLI command on the session's goroutine.
func runCLI(r *core.CLIRequest, key string) {
	regs, ok := cliRegs.Load(r.Engine)
	var cmd *cliCommand
	if ok {
		if v, ok := regs.(*sync.Map).Load(key); ok {
			cmd = v.(*cliCommand)
		}
	}
	if cmd == nil {
		r.Print("Unknown command.\n")
		return
	}
	conn := &cliConn{in: strings.NewReader(r.Payload), out: r}
	s := r.Engine.NewCLIStream(conn)
	ls := cmd.ls
	ls.Lock()
	defer ls.Unlock()
	ap := &AppletTCP{s: s}
	co, err := ls.start(&invocation{ctx: ctxService, name: "cli", s: s, applet: ap}, cmd.fn)
	if err != nil {
		sendErr(ls, nil, "Lua cli '%s': %v.", key, err)
		return
	}
	defer co.Close()
	appletTCPClass.Push(&co.Pusher, ap)
	for _, a := range r.Args {
		co.PushString(a)
	}
	out := ls.drive(co)
	_ = ap.io().SendNow(nil) // what applet:send queued last
	if out != vm.OK {
		// HAProxy compat: the error goes to the CLI answer
		r.Print(failure(ls, co, out) + "\n")
	}
}

// cliConn is the client side of a CLI command's stream: reads return the
// payload, then EOF; writes go to the answer.
type cliConn struct {
	in  io.Reader
	out io.Writer
	mu  sync.Mutex
}

func (c *cliConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *cliConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(bytes.Clone(p))
}
func (c *cliConn) Close() error                     { return nil }
func (c *cliConn) LocalAddr() net.Addr              { return cliAddr{} }
func (c *cliConn) RemoteAddr() net.Addr             { return cliAddr{} }
func (c *cliConn) SetDeadline(time.Time) error      { return nil }
func (c *cliConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cliConn) SetWriteDeadline(time.Time) error { return nil }

type cliAddr struct{}

func (cliAddr) Network() string { return "unix" }
func (cliAddr) String() string  { return "cli" }
