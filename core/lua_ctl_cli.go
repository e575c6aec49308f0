package core

import "net"

// cliProxy is the pseudo-frontend of streams built for runtime API
// commands run by scripts (core.register_cli): no timeouts, TCP mode.
var cliProxy = &Proxy{Name: "GLOBAL", Kind: "frontend", Cap: CapFE, Mode: "tcp"}

// NewCLIStream returns a stream whose client is c, for a Lua CLI command's
// AppletTCP: its Req channel reads c (the command's payload), its Res
// channel writes to c (the answer). It is attached to no proxy's counters.
func (e *Engine) NewCLIStream(c net.Conn) *Stream {
	return e.newStream(cliProxy, c)
}
