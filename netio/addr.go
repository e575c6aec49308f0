package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is a parsed listening address, ready for [Listen].
type Addr struct {
	// Net is the network: "tcp4" or "tcp6" for IP literals and for addresses
	// whose family a prefix forces, "tcp" for host names whose family is left
	// to the resolver, "unix" for unix sockets and "fd" for an inherited file
	// descriptor.
	Net string

	// Address is the address in the form the net package expects:
	// "host:port" ("[v6]:port" for IPv6) for TCP, the socket path for "unix".
	// An abstract unix socket starts with '@' (the net package's convention);
	// for "abns@name" the name is padded with NUL bytes to the whole sun_path,
	// as HAProxy does, while "abnsz@name" is not. Address is empty for "fd".
	Address string

	// FD is the inherited file descriptor number when Net is "fd", and 0
	// otherwise.
	FD int
}

// sunPathLen is the size of sockaddr_un.sun_path on Linux, terminating NUL
// included.
const sunPathLen = 108

// ErrPortRange is returned by [ParseAddr] for a port range such as
// ":8000-8010", which luaproxy does not support.
var ErrPortRange = errors.New("port ranges are not supported")

// ParseAddr parses an address in HAProxy's syntax for "bind" statements
// (haproxy-configuration.txt, section 2.9 "Address formats"):
//
//	1.2.3.4:80  host:80  :80  *:80   IPv4 (an empty host or '*' is 0.0.0.0)
//	[::1]:80  ::1:80  :::80          IPv6; without brackets the port is after the last colon
//	/path  unix@path  uxst@path      unix stream socket (unix@ allows a relative path)
//	abns@name  abnsz@name            Linux abstract unix socket
//	fd@3                             inherited file descriptor
//
// The prefixes ipv4@, ipv6@, ip@, tcp@, tcp4@ and tcp6@ force the address
// family (ipv6@:80 is the IPv6 wildcard), and "stream+" may precede any
// family prefix. The port is mandatory and may be 0 (an ephemeral port, which
// HAProxy refuses but tests need). Port ranges, datagram families (udp@,
// quic4@, uxdg@, ...), sockpair@, mptcp@ and rhttp@ are not supported.
// Environment variables such as "fd@${FD_APP1}" must be expanded before.
//
// Errors name the offending address, for example
// "invalid address: 'x@1': unknown address family 'x@'".
func ParseAddr(s string) (Addr, error) {
	a, err := parseAddr(s)
	if err != nil {
		return Addr{}, fmt.Errorf("invalid address: '%s': %w", s, err)
	}
	return a, nil
}

func parseAddr(s string) (Addr, error) {
	if s == "" {
		return Addr{}, errors.New("empty address")
	}
	if s[0] == '/' {
		return parseUnix(s)
	}
	i := strings.IndexByte(s, '@')
	if i < 0 {
		return parseInet(s, "tcp")
	}
	family, rest := s[:i], s[i+1:]
	family = strings.TrimPrefix(family, "stream+")
	switch family {
	case "ip", "tcp":
		return parseInet(rest, "tcp")
	case "ipv4", "tcp4":
		return parseInet(rest, "tcp4")
	case "ipv6", "tcp6":
		return parseInet(rest, "tcp6")
	case "unix", "uxst":
		return parseUnix(rest)
	case "abns":
		// HAProxy compat: the name fills the whole sun_path, NUL padded.
		if err := checkAbstract(rest); err != nil {
			return Addr{}, err
		}
		return Addr{Net: "unix", Address: "@" + rest + strings.Repeat("\x00", sunPathLen-1-len(rest))}, nil
	case "abnsz":
		if err := checkAbstract(rest); err != nil {
			return Addr{}, err
		}
		return Addr{Net: "unix", Address: "@" + rest}, nil
	case "fd":
		return parseFD(rest)
	case "dgram+ip", "dgram+ipv4", "dgram+ipv6", "dgram+unix", "quic+ipv4", "quic+ipv6",
		"udp", "udp4", "udp6", "quic4", "quic6", "uxdg", "sockpair",
		"mptcp", "mptcp4", "mptcp6", "rhttp":
		return Addr{}, fmt.Errorf("address family '%s@' is not supported", s[:i])
	}
	return Addr{}, fmt.Errorf("unknown address family '%s@'", s[:i])
}

// parseInet parses "host:port" where host may be empty, '*', an IPv4
// address, an IPv6 address with or without brackets, or a host name. network
// is "tcp" (any family), "tcp4" or "tcp6" (forced by a prefix).
func parseInet(s, network string) (Addr, error) {
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Addr{}, errors.New("missing ']'")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && port[0] != ':' {
			return Addr{}, fmt.Errorf("unexpected '%s' after ']'", port)
		}
		port = strings.TrimPrefix(port, ":")
	} else {
		// HAProxy compat: for IPv6 the port is after the last colon.
		colon := strings.LastIndexByte(s, ':')
		if colon < 0 {
			return Addr{}, errors.New("missing port")
		}
		host, port = s[:colon], s[colon+1:]
	}
	p, err := parsePort(port)
	if err != nil {
		return Addr{}, err
	}

	if host == "" || host == "*" {
		if network == "tcp6" {
			host = "::"
		} else {
			// HAProxy compat: no address means all IPv4 addresses.
			network, host = "tcp4", "0.0.0.0"
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		switch {
		case network == "tcp4" && !ip.Is4():
			return Addr{}, fmt.Errorf("'%s' is not an IPv4 address", host)
		case network == "tcp6" && ip.Is4():
			return Addr{}, fmt.Errorf("'%s' is not an IPv6 address", host)
		case ip.Is4():
			network = "tcp4"
		default:
			network = "tcp6"
		}
		host = ip.String()
	} else if !validHostname(host) {
		return Addr{}, fmt.Errorf("invalid host '%s'", host)
	}
	return Addr{Net: network, Address: net.JoinHostPort(host, strconv.Itoa(p))}, nil
}

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, errors.New("missing port")
	}
	if strings.IndexByte(s, '-') > 0 {
		return 0, ErrPortRange
	}
	if len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid port '%s'", s)
	}
	p, _ := strconv.Atoi(s)
	if p > 65535 {
		return 0, fmt.Errorf("invalid port '%s'", s)
	}
	return p, nil
}

// validHostname reports whether s looks like a DNS name (letters, digits,
// '-', '_' and '.'); the resolver has the last word.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func parseUnix(path string) (Addr, error) {
	switch {
	case path == "":
		return Addr{}, errors.New("empty unix socket path")
	case len(path) >= sunPathLen:
		return Addr{}, fmt.Errorf("unix socket path longer than %d bytes", sunPathLen-1)
	case strings.IndexByte(path, 0) >= 0:
		return Addr{}, errors.New("NUL byte in unix socket path")
	}
	return Addr{Net: "unix", Address: path}, nil
}

func checkAbstract(name string) error {
	if len(name) >= sunPathLen {
		return fmt.Errorf("abstract socket name longer than %d bytes", sunPathLen-1)
	}
	return nil
}

func parseFD(s string) (Addr, error) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return Addr{}, fmt.Errorf("invalid file descriptor '%s'", s)
	}
	fd, _ := strconv.Atoi(s)
	return Addr{Net: "fd", FD: fd}, nil
}

// String returns a in HAProxy's syntax; ParseAddr(a.String()) returns a for
// every a returned by ParseAddr.
func (a Addr) String() string {
	switch a.Net {
	case "fd":
		return "fd@" + strconv.Itoa(a.FD)
	case "unix":
		switch {
		case strings.HasPrefix(a.Address, "@") && len(a.Address) == sunPathLen:
			return "abns@" + strings.TrimRight(a.Address[1:], "\x00")
		case strings.HasPrefix(a.Address, "@"):
			return "abnsz@" + a.Address[1:]
		case strings.HasPrefix(a.Address, "/"):
			return a.Address
		}
		return "unix@" + a.Address
	case "tcp4", "tcp6":
		host, _, err := net.SplitHostPort(a.Address)
		if err == nil {
			if _, err := netip.ParseAddr(host); err != nil {
				// A host name with a forced family.
				return "ipv" + a.Net[3:] + "@" + a.Address
			}
		}
	}
	return a.Address
}
