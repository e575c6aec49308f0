package core

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"luaproxy/core/config"
)

// Privileges are the global "chroot", "user"/"uid" and "group"/"gid":
// what the process becomes once its listeners are open (DropPrivileges),
// as HAProxy does when started as root.
type Privileges struct {
	Chroot   string
	UID, GID int // -1: unchanged
}

// parsePrivilege parses one of the global keywords above.
func (e *Engine) parsePrivilege(l config.Line) error {
	args := l.Args
	if len(args) != 2 {
		return l.Errorf("'%s' expects an argument.", args[0])
	}
	p := &e.Privs
	switch args[0] {
	case "chroot":
		p.Chroot = args[1]
	case "user":
		u, err := user.Lookup(args[1])
		if err != nil {
			return l.Errorf("cannot find user id for '%s' (0:Success)", args[1])
		}
		p.UID, _ = strconv.Atoi(u.Uid)
	case "group":
		g, err := user.LookupGroup(args[1])
		if err != nil {
			return l.Errorf("cannot find group id for '%s' (0:Success)", args[1])
		}
		p.GID, _ = strconv.Atoi(g.Gid)
	case "uid", "gid":
		n, err := strconv.Atoi(args[1])
		if err != nil {
			e.warn(l.Warnf(" %s: string '%s' is not a number.", args[0], args[1]))
			n = 0
		}
		if args[0] == "uid" {
			p.UID = n
		} else {
			p.GID = n
		}
	}
	return nil
}

// DropPrivileges applies the global chroot, group and user, in that
// order (HAProxy's): call it once the listeners are open and the pid file
// written. Scripts and files read at load time are not affected; later
// file accesses are relative to the new root. A process that is not root
// keeps its identity, as HAProxy reports it does.
func (e *Engine) DropPrivileges() error {
	p := e.Privs
	if p.Chroot != "" {
		if err := syscall.Chroot(p.Chroot); err != nil {
			return fmt.Errorf("[luaproxy.main()] Cannot chroot(%s).", p.Chroot)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("[luaproxy.main()] Cannot chdir(/) after chroot(%s).", p.Chroot)
		}
	}
	if p.GID >= 0 {
		if err := syscall.Setgroups([]int{p.GID}); err != nil {
			return fmt.Errorf("[luaproxy.main()] Failed to drop supplementary groups. Using 'gid'/'group' without 'uid'/'user' is generally useless.")
		}
		if err := syscall.Setgid(p.GID); err != nil {
			return fmt.Errorf("[luaproxy.main()] Cannot set gid %d.", p.GID)
		}
	}
	if p.UID >= 0 {
		if err := syscall.Setuid(p.UID); err != nil {
			return fmt.Errorf("[luaproxy.main()] Cannot set uid %d.", p.UID)
		}
	}
	return nil
}
