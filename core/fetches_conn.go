package core

import (
	"fmt"
	"strconv"
	"strings"

	"luaproxy/core/sample"
)

// Fetches about the client and server connections themselves: their
// error codes (fc_err*, bc_err*), PROXY protocol TLVs, stream limits,
// protocol glitches, queue positions and the status a server answered.

// connErrors is HAProxy's table of connection error codes (CO_ER_*), by
// id: the name and message of the manual's fc_err_str table.
var connErrors = [...]struct{ name, msg string }{
	{"", "Success"}, // HAProxy compat: the name is empty when there is no error
	{"CONF_FDLIM", "Reached configured maxconn value"},
	{"PROC_FDLIM", "Too many sockets on the process"},
	{"SYS_FDLIM", "Too many sockets on the system"},
	{"SYS_MEMLIM", "Out of system buffers"},
	{"NOPROTO", "Protocol or address family not supported"},
	{"SOCK_ERR", "General socket error"},
	{"PORT_RANGE", "Source port range exhausted"},
	{"CANT_BIND", "Can't bind to source address"},
	{"FREE_PORTS", "Out of local source ports on the system"},
	{"ADDR_INUSE", "Local source address already in use"},
	{"PRX_EMPTY", "Connection closed while waiting for PROXY protocol header"},
	{"PRX_ABORT", "Connection error while waiting for PROXY protocol header"},
	{"PRX_TIMEOUT", "Timeout while waiting for PROXY protocol header"},
	{"PRX_TRUNCATED", "Truncated PROXY protocol header received"},
	{"PRX_NOT_HDR", "Received something which does not look like a PROXY protocol header"},
	{"PRX_BAD_HDR", "Received an invalid PROXY protocol header"},
	{"PRX_BAD_PROTO", "Received an unhandled protocol in the PROXY protocol header"},
	{"CIP_EMPTY", "Connection closed while waiting for NetScaler Client IP header"},
	{"CIP_ABORT", "Connection error while waiting for NetScaler Client IP header"},
	{"CIP_TIMEOUT", "Timeout while waiting for a NetScaler Client IP header"},
	{"CIP_TRUNCATED", "Truncated NetScaler Client IP header received"},
	{"CIP_BAD_MAGIC", "Received an invalid NetScaler Client IP magic number"},
	{"CIP_BAD_PROTO", "Received an unhandled protocol in the NetScaler Client IP header"},
	{"SSL_EMPTY", "Connection closed during SSL handshake"},
	{"SSL_ABORT", "Connection error during SSL handshake"},
	{"SSL_TIMEOUT", "Timeout during SSL handshake"},
	{"SSL_TOO_MANY", "Too many SSL connections"},
	{"SSL_NO_MEM", "Out of memory when initializing an SSL connection"},
	{"SSL_RENEG", "Rejected a client-initiated SSL renegotiation attempt"},
	{"SSL_CA_FAIL", "SSL client CA chain cannot be verified"},
	{"SSL_CRT_FAIL", "SSL client certificate not trusted"},
	{"SSL_MISMATCH", "Server presented an SSL certificate different from the configured one"},
	{"SSL_MISMATCH_SNI", "Server presented an SSL certificate different from the expected one"},
	{"SSL_HANDSHAKE", "SSL handshake failure"},
	{"SSL_HANDSHAKE_HB", "SSL handshake failure after heartbeat"},
	{"SSL_KILLED_HB", "Stopped a TLSv1 heartbeat attack (CVE-2014-0160)"},
	{"SSL_NO_TARGET", "Attempt to use SSL on an unknown target (internal error)"},
	{"SSL_EARLY_FAILED", "Server refused early data"},
	{"SOCKS4_SEND", "SOCKS4 Proxy write error during handshake"},
	{"SOCKS4_RECV", "SOCKS4 Proxy read error during handshake"},
	{"SOCKS4_DENY", "SOCKS4 Proxy deny the request"},
	{"SOCKS4_ABORT", "SOCKS4 Proxy handshake aborted by server"},
	{"SSL_FATAL", "SSL fatal error"},
	{"REVERSE", "Reverse connect failure"},
	{"POLLERR", "Poller reported POLLERR"},
	{"EREFUSED", "ECONNREFUSED returned by OS"},
	{"ERESET", "ECONNRESET returned by OS"},
	{"EUNREACH", "ENETUNREACH returned by OS"},
	{"ENOMEM", "ENOMEM returned by OS"},
	{"EBADF", "EBADF returned by OS"},
	{"EFAULT", "EFAULT returned by OS"},
	{"EINVAL", "EINVAL returned by OS"},
	{"ENCONN", "ENCONN returned by OS"},
	{"ENSOCK", "ENSOCK returned by OS"},
	{"ENOBUFS", "ENOBUFS returned by OS"},
	{"EPIPE", "EPIPE returned by OS"},
}

// hasServerConn tells whether the stream has (had) a connection to a
// server: the bc_* fetches need one.
func hasServerConn(s *Stream) bool { return s.ServerConn != nil || s.Server != nil }

// ppTLVNames are the symbolic TLV ids fc_pp_tlv accepts (PP2_TYPE_* and
// PP2_SUBTYPE_SSL_*).
var ppTLVNames = map[string]int{
	"ALPN": 0x01, "AUTHORITY": 0x02, "CRC32C": 0x03, "NOOP": 0x04, "UNIQUE_ID": 0x05,
	"SSL": 0x20, "SSL_VERSION": 0x21, "SSL_CN": 0x22, "SSL_CIPHER": 0x23,
	"SSL_SIG_ALG": 0x24, "SSL_KEY_ALG": 0x25, "NETNS": 0x30,
}

// checkPPTLV resolves fc_pp_tlv's argument to a TLV id (kept in Int).
func checkPPTLV(args []sample.Arg, _ *sample.Scope) error {
	v := args[0].Str
	if id, ok := ppTLVNames[strings.ToUpper(v)]; ok {
		args[0].Int = int64(id)
		return nil
	}
	if v == "CRC32" { // the manual's spelling of PP2_TYPE_CRC32C
		args[0].Int = 0x03
		return nil
	}
	id, err := strconv.ParseInt(v, 0, 64)
	if err != nil || id < 0 || id > 255 {
		return fmt.Errorf("invalid TLV ID '%s'; must be a symbolic name or a number between 0 and 255", v)
	}
	args[0].Int = id
	return nil
}

func init() {
	fetch := func(name string, args sample.ArgSpec, out sample.Type, use sample.Use, fn func(s *Stream) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Args: args, Out: out, Use: use,
			Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
				if s := streamOf(ctx); s != nil {
					return fn(s)
				}
				return sample.Sample{}, false
			}})
	}
	none := sample.ArgSpec{}
	fail := func() (sample.Sample, bool) { return sample.Sample{}, false }

	// A stream exists only on a client connection without error: fc_err is
	// 0 (CO_ER_NONE), "Success". A failed server connection is dropped
	// before the stream can look at it, as in HAProxy 2.6, so bc_err is
	// 0 on an established one and absent otherwise.
	fetch("fc_err", none, sample.TypeSInt, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return sample.Int(0), true })
	fetch("fc_err_str", none, sample.TypeStr, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) {
		return sample.Str(connErrors[0].msg), true
	})
	fetch("fc_err_name", none, sample.TypeStr, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) {
		return sample.Str(connErrors[0].name), true
	})
	bc := func(name string, out sample.Type, fn func() sample.Sample) {
		fetch(name, none, out, sample.UseL4Srv, func(s *Stream) (sample.Sample, bool) {
			if !hasServerConn(s) {
				return fail()
			}
			return fn(), true
		})
	}
	bc("bc_err", sample.TypeSInt, func() sample.Sample { return sample.Int(0) })
	bc("bc_err_str", sample.TypeStr, func() sample.Sample { return sample.Str(connErrors[0].msg) })
	bc("bc_err_name", sample.TypeStr, func() sample.Sample { return sample.Str(connErrors[0].name) })

	// Binds take no accept-proxy: no PROXY header is ever received, and
	// the TLV fetches fail as HAProxy's do on a connection without one.
	fetch("fc_rcvd_proxy", none, sample.TypeBool, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return sample.Bool(false), true })
	fetch("fc_pp_authority", none, sample.TypeStr, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return fail() })
	fetch("fc_pp_unique_id", none, sample.TypeStr, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return fail() })
	sample.RegisterFetch(&sample.Fetch{Name: "fc_pp_tlv", Args: sample.Args(1, sample.ArgStr), Check: checkPPTLV,
		Out: sample.TypeStr, Use: sample.UseL4Cli,
		Fn: func(*sample.Ctx, []sample.Arg) (sample.Sample, bool) { return fail() }})

	// HTTP/1 and TCP connections carry one stream at a time.
	fetch("fc_nb_streams", none, sample.TypeSInt, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return sample.Int(1), true })
	fetch("fc_settings_streams_limit", none, sample.TypeSInt, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) {
		return sample.Int(1), true
	})
	bc("bc_nb_streams", sample.TypeSInt, func() sample.Sample { return sample.Int(1) })
	bc("bc_settings_streams_limit", sample.TypeSInt, func() sample.Sample { return sample.Int(1) })
	// Glitches are counted by HAProxy's H2 and QUIC muxes; its HTTP/1 and
	// raw TCP muxes answer nothing and the fetch fails, as here.
	fetch("fc_glitches", none, sample.TypeSInt, sample.UseL4Cli, func(*Stream) (sample.Sample, bool) { return fail() })
	fetch("bc_glitches", none, sample.TypeSInt, sample.UseL4Srv, func(*Stream) (sample.Sample, bool) { return fail() })

	// Queue positions, as %bq and %sq.
	fetch("bc_be_queue", none, sample.TypeSInt, sample.UseL4Srv, func(s *Stream) (sample.Sample, bool) {
		return sample.Int(s.fx.queue.be), true
	})
	fetch("bc_srv_queue", none, sample.TypeSInt, sample.UseL4Srv, func(s *Stream) (sample.Sample, bool) {
		return sample.Int(s.fx.queue.srv), true
	})

	// server_status is the status the server sent, whatever set-status
	// made of it; it fails when no server answered.
	fetch("server_status", none, sample.TypeSInt, sample.UseHRSHP, func(s *Stream) (sample.Sample, bool) {
		if s.HTTP == nil || s.HTTP.srvStatus == 0 {
			return fail()
		}
		return sample.Int(int64(s.HTTP.srvStatus)), true
	})
}
