//go:build lua53

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"luaproxy/core"
)

// steerToNewListeners runs before older processes are told to leave
// (-sf/-st). Our TCP listeners share their ports with theirs through
// SO_REUSEPORT, and the kernel spreads new connections over the group; a
// connection still queued on an old listener when it closes is reset. So
// each listener attaches a classic BPF program to its group that picks it
// (its index in the group: the number of older listeners of the same
// address, as sockets join at the end), and the old processes, once
// signalled, only have what they already queued to accept (the engine
// drains it before closing). When the old sockets leave, the index falls
// past the group's end and the kernel goes back to hashing.
func steerToNewListeners(e *core.Engine, log *core.Logger) {
	for _, ln := range e.Listeners() {
		tl, ok := ln.(*net.TCPListener)
		if !ok {
			continue
		}
		rc, err := tl.SyscallConn()
		if err != nil {
			continue
		}
		var ino uint64
		_ = rc.Control(func(fd uintptr) {
			var st unix.Stat_t
			if unix.Fstat(int(fd), &st) == nil {
				ino = st.Ino
			}
		})
		older, err := olderListeners(tl.Addr().(*net.TCPAddr), ino)
		if err != nil || older == 0 {
			continue
		}
		prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: uint32(older)}}
		fprog := &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		var serr error
		_ = rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, fprog)
		})
		if serr != nil {
			log.Warning("cannot steer new connections of %s to this process: %v", tl.Addr(), serr)
		}
	}
}

// olderListeners counts the listening TCP sockets on addr other than the
// socket with inode ino, from /proc/net/tcp{,6}.
func olderListeners(addr *net.TCPAddr, ino uint64) (int, error) {
	local, file := procNetAddr(addr)
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 || fl[1] != local || fl[3] != "0A" { // TCP_LISTEN
			continue
		}
		if fl[9] != fmt.Sprint(ino) {
			n++
		}
	}
	return n, sc.Err()
}

// procNetAddr writes addr as /proc/net/tcp shows it: the address words in
// host byte order, the port in hex.
func procNetAddr(addr *net.TCPAddr) (string, string) {
	if ip4 := addr.IP.To4(); ip4 != nil {
		return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip4), addr.Port), "/proc/net/tcp"
	}
	ip := addr.IP.To16()
	var b strings.Builder
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(ip[i:i+4]))
	}
	return fmt.Sprintf("%s:%04X", b.String(), addr.Port), "/proc/net/tcp6"
}
