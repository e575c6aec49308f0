// Package netio is luaproxy's network I/O layer: everything between the proxy
// engine (package core) and the operating system's sockets. It imports nothing
// from the rest of luaproxy.
//
// It provides:
//
//   - [ParseAddr] and [Addr]: HAProxy's address syntax ("1.2.3.4:80", ":80",
//     "[::1]:80", "ipv4@", "ipv6@", "unix@", "/path", "abns@", "fd@N") as
//     used by "bind" (section 2.9 and the "bind" keyword of
//     haproxy-configuration.txt).
//   - [Listen]: listeners with SO_REUSEADDR and SO_REUSEPORT, a configurable
//     backlog, unix sockets replaced atomically as HAProxy does on reload, and
//     inherited listening sockets ("fd@N").
//   - [Forward]: TCP-mode forwarding between a client and a server connection
//     with half-close, HAProxy's idle timeouts ("timeout client", "timeout
//     server", "timeout tunnel"), through a buffer or with splice(2) between
//     TCP sockets; [ForwardAsync] does it on two goroutines of its own
//     (one per direction, each waiting within the runtime's smallest
//     stack) and calls back at the end, so that the caller's goroutine
//     need not wait for the connection's whole life.
//   - [PollConn]: reads and writes as HAProxy makes them (recvfrom/sendto,
//     no syscall bookkeeping in the runtime), and no read that finds the
//     socket empty where it can be known in advance ([Wait]: before a
//     server's reply, or when TCP_INQ said the last read left nothing).
//   - [DialTCP], [StartTCP]: outgoing TCP connections to a known address for
//     callers that open one per request (the Lua sockets): the socket is
//     connected with raw syscalls and served by the runtime's poller as a
//     [FileConn], without net.Dialer's resolution, context and allocations;
//     [FileConn.TryWrite] sends without waiting.
//   - [SetTOS], [GetTOS], [SetMark], [GetMark]: per-connection socket options
//     behind "set-tos" and "set-mark".
//   - [Buffer]: a bounded byte buffer for one direction of a stream
//     ("tune.bufsize").
//   - [BufPool], [Writer], [Lender]: buffers lent to a connection only
//     while it has data in them, as HAProxy's are: a [Writer] (bufio.Writer
//     otherwise) gives its buffer back with the Flush that empties it, and
//     a [PollConn] read through ReadLent gives the reader's back while it
//     waits for data, so that an idle keep-alive connection holds none.
//
// The subpackage memnet is an in-memory network for tests; h1 is the
// HTTP/1 reader and writer (its pooled Reader reads through ReadLent).
//
// # Errors
//
// Functions return errors that wrap the underlying system error, so that
// errors.Is(err, syscall.EADDRINUSE) and similar checks work. [Forward]
// reports why it stopped early with a [*ForwardError]; an idle timeout wraps
// [ErrIdleTimeout].
package netio
