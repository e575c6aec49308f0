package core

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"luaproxy/core/config"
	"luaproxy/netio"
)

// Administrative changes of servers: maintenance, drain, forced health,
// weight, address, check target, and servers added or deleted at run time.
// The runtime API and the Lua Server class call these methods; each logs
// HAProxy 2.6's lines and publishes the events (SERVER_ADMIN for admin
// flags, SERVER_DOWN/SERVER_UP and SERVER_STATE when the server stops or
// starts serving, SERVER_ADD, SERVER_DEL). The transitions of one server are
// serialized by its evMu, as health-check transitions are.

// AdminError is a refused change, in HAProxy's words.
type AdminError struct {
	Msg string
	// NoLF is set when HAProxy prints the message without a newline, so
	// that the runtime API's answer has no empty line after it.
	NoLF bool
}

func (e *AdminError) Error() string { return e.Msg }

func adminErr(msg string) error     { return &AdminError{Msg: msg} }
func adminErrNoLF(msg string) error { return &AdminError{Msg: msg, NoLF: true} }

// engine returns the server's engine (nil for a server not loaded by one).
func (s *Server) engine() *Engine {
	if s.Proxy == nil {
		return nil
	}
	return s.Proxy.engine
}

// SetMaint puts the server in forced maintenance and leaves drain, as
// HAProxy's srv_adm_set_maint ("set server ... state maint", "disable
// server", Server:set_maint()).
func (s *Server) SetMaint() {
	s.setAdmin(AdminMaint)
	s.clearAdmin(AdminDrain)
}

// SetDrain puts the server in forced drain and leaves maintenance, as
// srv_adm_set_drain ("state drain", Server:set_drain()).
func (s *Server) SetDrain() {
	s.setAdmin(AdminDrain)
	s.clearAdmin(AdminMaint)
}

// SetReady leaves drain and maintenance, as srv_adm_set_ready ("state
// ready", "enable server", Server:set_ready()).
func (s *Server) SetReady() {
	s.clearAdmin(AdminDrain)
	s.clearAdmin(AdminMaint)
}

// setAdmin sets an admin flag (HAProxy's srv_set_admin_flag).
func (s *Server) setAdmin(flag AdminFlags) {
	e := s.engine()
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	old := s.admin
	if old&flag != 0 {
		s.mu.Unlock()
		return
	}
	wasUsable := s.usableLocked()
	oldState := s.state
	s.admin |= flag
	enterMaint := !old.InMaint() && s.admin.InMaint()
	if enterMaint {
		s.state, s.health = StateStopped, 0
	}
	newAdmin, newState := s.admin, s.state
	s.mu.Unlock()

	px := s.Proxy
	px.lbRebuild()
	var requeued int
	if enterMaint {
		requeued = px.redistribute(s)
	}
	if e == nil {
		return
	}
	switch {
	case enterMaint && oldState != StateStopped:
		active, backup := px.countUsable()
		e.adminLog(LogAlert, "%s %s is going DOWN for maintenance. %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.",
			e.srvKind(s), s, active, backup, runningOnBackup(active, backup), s.Conns.Load(), requeued, s.srvQueueLen())
	case enterMaint:
		e.adminLog(LogNotice, "%s %s was DOWN and now enters maintenance.", e.srvKind(s), s)
	case flag == AdminDrain && !old.InMaint():
		active, backup := px.countUsable()
		e.adminLog(LogNotice, "%s %s enters drain state. %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
			e.srvKind(s), s, active, backup, runningOnBackup(active, backup), 0, s.srvQueueLen())
	}
	e.publishAdmin(s, old, newAdmin)
	e.publishState(s, oldState, newState, "", true)
	if wasUsable {
		e.alertIfNoServer(px)
	}
}

// clearAdmin clears an admin flag (HAProxy's srv_clr_admin_flag). Leaving
// maintenance clears the configuration's "disabled" too.
func (s *Server) clearAdmin(flag AdminFlags) {
	e := s.engine()
	if flag&AdminMaint != 0 {
		flag |= AdminCMaint
	}
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	old := s.admin
	if old&flag == 0 {
		s.mu.Unlock()
		return
	}
	oldState := s.state
	s.admin &^= flag
	leaveMaint := old.InMaint() && !s.admin.InMaint()
	if leaveMaint {
		// HAProxy compat: the server comes back up, one failed check
		// away from down.
		s.state, s.health = StateRunning, s.Check.Rise
	}
	newAdmin, newState := s.admin, s.state
	usable := s.usableLocked()
	s.mu.Unlock()

	px := s.Proxy
	px.lbRebuild()
	if usable {
		px.dequeue()
	}
	if e == nil {
		return
	}
	switch {
	case leaveMaint:
		mode := "READY"
		if newAdmin&AdminDrain != 0 {
			mode = "DRAIN"
		}
		e.adminLog(LogNotice, "%s %s is %s/%s (leaving forced maintenance).", e.srvKind(s), s, upDown(newState), mode)
		if newAdmin&AdminDrain != 0 {
			e.adminLog(LogNotice, "%s %s remains in forced drain mode.", e.srvKind(s), s)
		}
	case flag&AdminDrain != 0 && !newAdmin.InMaint():
		e.adminLog(LogNotice, "%s %s is %s (leaving forced drain).", e.srvKind(s), s, upDown(newState))
	}
	e.publishAdmin(s, old, newAdmin)
	e.publishState(s, oldState, newState, "", true)
}

func upDown(st ServerState) string {
	if st == StateStopped {
		return "DOWN"
	}
	return "UP"
}

// causeText is HAProxy's printable state change cause
// (srv_op_st_chg_cause): "CLI" is "changed from CLI".
var causeText = map[string]string{
	"CLI":       "changed from CLI",
	"LUA":       "changed from Lua script",
	"STATS_WEB": "changed from Web interface",
}

// ForceHealth forces the operational state as "set server ... health
// up|stopping|down" does (and Lua's Server:check_force_up/nolb/down):
// state is StateRunning, StateStopping or StateStopped; cause names the
// origin ("CLI", "LUA"). The health counter is set to the matching end, so
// the next check result moves the server again.
func (s *Server) ForceHealth(state ServerState, cause string) {
	e := s.engine()
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	oldState := s.state
	wasUsable := s.usableLocked()
	if state == StateStopped {
		s.health = 0
	} else {
		s.health = s.Check.Rise + s.Check.Fall - 1
	}
	s.state = state
	maint := s.admin.InMaint()
	usable := s.usableLocked()
	s.mu.Unlock()
	if oldState == state {
		return
	}
	px := s.Proxy
	px.lbRebuild()
	var requeued int
	switch {
	case usable:
		requeued = px.dequeue()
	case state == StateStopped:
		requeued = px.redistribute(s)
	}
	if e == nil {
		return
	}
	why := causeText[cause]
	if why == "" {
		why = "changed from " + cause
	}
	if !maint {
		active, backup := px.countUsable()
		switch state {
		case StateStopped:
			e.adminLog(LogAlert, "%s %s is DOWN, %s. %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.",
				e.srvKind(s), s, why, active, backup, runningOnBackup(active, backup), s.Conns.Load(), requeued, s.srvQueueLen())
		case StateStopping:
			e.adminLog(LogNotice, "%s %s is stopping, %s. %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
				e.srvKind(s), s, why, active, backup, runningOnBackup(active, backup), requeued, s.srvQueueLen())
		default:
			e.adminLog(LogNotice, "%s %s is UP, %s. %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
				e.srvKind(s), s, why, active, backup, runningOnBackup(active, backup), requeued, s.srvQueueLen())
		}
	}
	e.publishState(s, oldState, state, cause, false)
	if wasUsable && !maint {
		e.alertIfNoServer(px)
	}
}

// SetWeight sets the user weight from HAProxy's syntax, "N" (0 to 256) or
// "N%" of the initial weight, as "set server ... weight", "set weight" and
// Lua's Server:set_weight() (server_parse_weight_change_request). A
// backend with a static algorithm only takes 0 and the initial weight.
func (s *Server) SetWeight(spec string) error {
	if spec == "" {
		return adminErr("Require <weight> or <weight%>.")
	}
	w, rest, ok := strtol(spec)
	s.mu.Lock()
	iweight := s.iweight
	s.mu.Unlock()
	switch {
	case !ok:
		return adminErrNoLF("Empty weight string empty or preceded by garbage")
	case rest == "%":
		if w < 0 {
			return adminErr("Relative weight must be positive.")
		}
		w = min(w, 25600)
		w = min(int64(iweight)*w/100, 256)
	case w < 0 || w > 256:
		return adminErr("Absolute weight can only be between 0 and 256 inclusive.")
	case rest != "":
		return adminErrNoLF("Trailing garbage in weight string")
	}
	if w != 0 && int(w) != iweight && !s.Proxy.Balance.dynamic() {
		return adminErr("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.")
	}
	s.setUserWeight(int(w))
	return nil
}

// strtol reads an integer as C's strtol: leading blanks, a sign, digits;
// ok is false when there are no digits.
func strtol(s string) (n int64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		if n < 1<<40 {
			n = n*10 + int64(s[j]-'0')
		}
		j++
	}
	if j == i {
		return 0, s, false
	}
	if neg {
		n = -n
	}
	return n, s[j:], true
}

// dynamic reports whether the algorithm takes weight changes at run time
// (HAProxy's BE_LB_PROP_DYN): the map-based hashes and static-rr do not.
func (b Balance) dynamic() bool {
	if b.hashed() {
		return b.Hash.Consistent
	}
	return b.Algo != "static-rr"
}

func (s *Server) setUserWeight(w int) {
	e := s.engine()
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	wasUsable := s.usableLocked()
	s.weight = w
	usable := s.usableLocked()
	s.mu.Unlock()
	px := s.Proxy
	px.lbRebuild()
	if usable {
		px.dequeue()
	}
	if wasUsable && !usable && e != nil {
		e.alertIfNoServer(px)
	}
}

// InitialWeight returns the weight of the configuration (iweight).
func (s *Server) InitialWeight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iweight
}

// SetMaxConn changes the server's maxconn (0: no limit); streams waiting
// in the backend's queue get the new slots.
func (s *Server) SetMaxConn(n int) {
	s.mu.Lock()
	s.MaxConn = max(n, 0)
	s.mu.Unlock()
	s.Proxy.dequeue()
}

// Address returns the server's address; use it rather than Addr, which
// "set server ... addr" changes at run time.
func (s *Server) Address() netio.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Addr
}

// dialAddr returns where streams connect: the address, and whether the
// port is the one the client connected to.
func (s *Server) dialAddr() (netio.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Addr, s.PortFromClient
}

// SetAddr changes the server's IP address and, when port is not empty, its
// port, as HAProxy's srv_update_addr_port ("set server ... addr",
// Server:set_addr()). It returns HAProxy's report ("IP changed from 'a' to
// 'b' by 'stats socket command'"), errors included; updater names the
// origin, "" for none.
func (s *Server) SetAddr(addr, port, updater string) string {
	return s.setAddr(addr, port, port != "", updater)
}

func (s *Server) setAddr(addr, port string, hasPort bool, updater string) string {
	var msg []string
	report := func() string {
		out := strings.Join(msg, ", ")
		if updater != "" {
			out += " by '" + updater + "'"
		}
		return out
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		msg = append(msg, fmt.Sprintf("Invalid addr '%s'", addr))
		return report()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oldHost, oldPort, _ := net.SplitHostPort(s.Addr.Address)
	newHost, newPort := ip.Unmap().String(), oldPort
	if oldHost == newHost {
		msg = append(msg, "no need to change the addr")
	} else {
		msg = append(msg, fmt.Sprintf("IP changed from '%s' to '%s'", oldHost, newHost))
	}
	portFromClient := s.PortFromClient
	if hasPort {
		p, err := strconv.Atoi(port)
		switch {
		case err != nil || p < 0 || p > 65535:
			msg = append(msg, fmt.Sprintf("problem converting port '%s' to an int", port))
		case strconv.Itoa(p) == oldPort && !portFromClient:
			msg = append(msg, "no need to change the port")
		default:
			msg = append(msg, fmt.Sprintf("port changed from '%s' to '%d'", oldPort, p))
			newPort, portFromClient = strconv.Itoa(p), false
		}
	}
	network := "tcp4"
	if ip.Unmap().Is6() {
		network = "tcp6"
	}
	s.Addr = netio.Addr{Net: network, Address: net.JoinHostPort(newHost, newPort)}
	s.PortFromClient = portFromClient
	return report()
}

// SetCheckPort sets the port health checks connect to ("set server ...
// check-port"); 0 is the server's port.
func (s *Server) SetCheckPort(port int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Check.Enabled {
		return adminErrNoLF("health checks are not enabled on this server")
	}
	if port < 0 || port > 65535 {
		return adminErrNoLF("provided port is invalid")
	}
	s.Check.Port = port
	return nil
}

// SetCheckAddr sets the address (and, when port is not empty, the port)
// health checks connect to ("set server ... check-addr").
func (s *Server) SetCheckAddr(addr, port string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Check.Enabled {
		return adminErrNoLF("health checks are not enabled on this server")
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return adminErrNoLF(fmt.Sprintf("invalid addr '%s'", addr))
	}
	p := s.Check.Port
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil {
			return adminErrNoLF("provided port is not an integer")
		}
		if n < 0 || n > 65535 {
			return adminErrNoLF("provided port is invalid")
		}
		p = n
	}
	s.Check.Addr, s.Check.Port = ip.Unmap().String(), p
	return nil
}

// checkSettings returns what checkTarget needs, read under s.mu (the
// runtime API changes them).
func (s *Server) checkSettings() (addr netio.Addr, chkAddr string, chkPort int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Addr, s.Check.Addr, s.Check.Port
}

// CheckRunning reports whether health checks are running for the server
// (configured with "check", and not disabled with "disable health"; a
// server added at run time starts with them disabled).
func (s *Server) CheckRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkRunningLocked()
}

func (s *Server) checkRunningLocked() bool {
	if !s.Check.Enabled || s.check == nil {
		return false
	}
	select {
	case <-s.check.stop:
		return false
	default:
		return true
	}
}

// EnableHealthCheck starts the server's health checks again ("enable
// health"); the server needs "check".
func (s *Server) EnableHealthCheck() error {
	e := s.engine()
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	if !s.Check.Enabled {
		s.mu.Unlock()
		return adminErr("Health check was not configured on this server, cannot enable.")
	}
	if s.checkRunningLocked() || e == nil || s.deleted {
		s.mu.Unlock()
		return nil
	}
	c := &checker{stop: make(chan struct{})}
	s.check = c
	s.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.checkLoop(s, c)
	}()
	return nil
}

// DisableHealthCheck stops the server's health checks ("disable health");
// the server keeps its state and shows "no check".
func (s *Server) DisableHealthCheck() {
	s.mu.Lock()
	c := s.check
	s.mu.Unlock()
	if c != nil {
		c.halt()
	}
}

// sessions tracks the connections to servers, for "shutdown sessions
// server".
var sessions struct {
	mu sync.Mutex
	m  map[*Server]map[*sessionRef]struct{}
}

type sessionRef struct{ close func() }

// TrackSession registers a stream's connection to the server, closed by
// ShutdownSessions; the returned function unregisters it.
func (s *Server) TrackSession(close func()) (untrack func()) {
	ref := &sessionRef{close: close}
	sessions.mu.Lock()
	if sessions.m == nil {
		sessions.m = map[*Server]map[*sessionRef]struct{}{}
	}
	set := sessions.m[s]
	if set == nil {
		set = map[*sessionRef]struct{}{}
		sessions.m[s] = set
	}
	set[ref] = struct{}{}
	sessions.mu.Unlock()
	return func() {
		sessions.mu.Lock()
		delete(sessions.m[s], ref)
		if len(sessions.m[s]) == 0 {
			delete(sessions.m, s)
		}
		sessions.mu.Unlock()
	}
}

// ShutdownSessions closes the streams attached to the server that
// registered with TrackSession ("shutdown sessions server").
func (s *Server) ShutdownSessions() {
	sessions.mu.Lock()
	var refs []*sessionRef
	for r := range sessions.m[s] {
		refs = append(refs, r)
	}
	sessions.mu.Unlock()
	for _, r := range refs {
		r.close()
	}
}

// revisions remembers, per backend, the revision of the last server
// deleted with each id, so that a server re-created with the same id gets
// the next one (the rid of events).
var revisions struct {
	mu sync.Mutex
	m  map[*Proxy]map[int]int
}

// AddServer creates a server from the words after "add server
// <backend>/": its name, address and options, parsed as a "server" line.
// As in HAProxy 2.6 the server starts in maintenance and its health checks
// (with "check") are disabled until EnableHealthCheck. The backend's
// balancing algorithm must be dynamic and the name free.
func (px *Proxy) AddServer(args []string) (*Server, error) {
	e := px.engine
	if e == nil || px.Cap&CapBE == 0 {
		return nil, adminErrNoLF("No such backend.")
	}
	if !px.Balance.dynamic() {
		return nil, adminErrNoLF("Backend must use a dynamic load balancing to support dynamic servers.")
	}
	if len(args) > 0 && px.FindServer(args[0]) != nil {
		return nil, adminErr("Already exists a server with the same name in backend.")
	}
	line := config.Line{Args: append([]string{"server"}, args...)}
	s, err := e.parseServer(px, line)
	if err != nil {
		return nil, adminErr(cliServerError(err, args))
	}
	s.admin |= AdminMaint
	s.state, s.health = StateStopped, 0

	px.srvMu.Lock()
	if px.findServerLocked(s.Name) != nil {
		px.srvMu.Unlock()
		return nil, adminErr("Already exists a server with the same name in backend.")
	}
	used := map[int]*Server{}
	for _, o := range px.Servers {
		used[o.ID] = o
	}
	if s.ID != 0 {
		if o := used[s.ID]; o != nil {
			px.srvMu.Unlock()
			where := "(null):0"
			if o.Line.File != "" {
				where = o.Line.String()
			}
			return nil, adminErr(fmt.Sprintf("'id' : custom id %d already used at %s ('server %s').", s.ID, where, o.Name))
		}
	} else {
		s.ID = 1
		for used[s.ID] != nil {
			s.ID++
		}
	}
	revisions.mu.Lock()
	s.RID = revisions.m[px][s.ID]
	revisions.mu.Unlock()
	list := make([]*Server, len(px.Servers), len(px.Servers)+1)
	copy(list, px.Servers)
	px.Servers = append(list, s)
	px.srvMu.Unlock()

	px.lbRebuild()
	e.Events.Publish(s.event(EventServerAdd))
	return s, nil
}

func (px *Proxy) findServerLocked(name string) *Server {
	for _, s := range px.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// cliServerError returns a "server" line parse error as "add server"
// prints it: without the location, nor the "'server <name>'" prefix.
func cliServerError(err error, args []string) string {
	msg := err.Error()
	if ce, ok := err.(*config.Error); ok {
		msg = ce.Msg
	}
	if len(args) > 0 {
		for _, p := range []string{"'server " + args[0] + "' : ", "'server " + args[0] + "' "} {
			msg = strings.TrimPrefix(msg, p)
		}
	}
	return msg
}

// DelServer deletes a server of the backend, as "del server": the server
// must be in maintenance and have no connection. Its checks stop, load
// balancing no longer picks it; streams using it finish.
func (px *Proxy) DelServer(s *Server) error {
	e := px.engine
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.mu.Lock()
	if !s.admin.InMaint() {
		s.mu.Unlock()
		return adminErrNoLF("Only servers in maintenance mode can be deleted.")
	}
	if s.Conns.Load() > 0 {
		s.mu.Unlock()
		return adminErrNoLF("Server still has connections attached to it, cannot remove it.")
	}
	s.deleted = true
	c := s.check
	s.mu.Unlock()
	s.pool.closeAll()
	if c != nil {
		c.halt()
	}

	px.srvMu.Lock()
	list := make([]*Server, 0, len(px.Servers))
	found := false
	for _, o := range px.Servers {
		if o == s {
			found = true
			continue
		}
		list = append(list, o)
	}
	px.Servers = list
	px.srvMu.Unlock()
	if !found {
		return adminErrNoLF("No such server.")
	}
	revisions.mu.Lock()
	if revisions.m == nil {
		revisions.m = map[*Proxy]map[int]int{}
	}
	if revisions.m[px] == nil {
		revisions.m[px] = map[int]int{}
	}
	revisions.m[px][s.ID] = s.RID + 1
	revisions.mu.Unlock()

	px.lbRebuild()
	if e != nil {
		e.Events.Publish(s.event(EventServerDel))
	}
	return nil
}

// Deleted reports whether the server was deleted ("del server").
func (s *Server) Deleted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted
}

// countUsable returns the active and backup servers load balancing may
// pick (HAProxy's srv_act and srv_bck, which the state-change lines
// report).
func (px *Proxy) countUsable() (active, backup int) {
	for _, s := range px.servers() {
		s.mu.Lock()
		ok := s.usableLocked()
		s.mu.Unlock()
		switch {
		case !ok:
		case s.Backup:
			backup++
		default:
			active++
		}
	}
	return
}

func (e *Engine) alertIfNoServer(px *Proxy) {
	if a, b := px.countUsable(); a == 0 && b == 0 {
		e.noServerAlert(px)
	}
}

// adminLog writes an admin transition line as [WARNING] on stderr and to
// the global log targets at level.
func (e *Engine) adminLog(level int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	e.Log.Warning("%s", msg)
	e.sendLog(level, msg)
}

func (e *Engine) publishAdmin(s *Server, old, cur AdminFlags) {
	if old == cur {
		return
	}
	ev := s.event(EventServerAdmin)
	ev.Admin = &AdminChange{OldAdmin: old, NewAdmin: cur}
	e.Events.Publish(ev)
}

// publishState publishes SERVER_DOWN (entering STOPPED) or SERVER_UP
// (leaving it), then SERVER_STATE, when the state changed.
func (e *Engine) publishState(s *Server, old, cur ServerState, cause string, admin bool) {
	if old == cur {
		return
	}
	switch {
	case cur == StateStopped:
		e.Events.Publish(s.event(EventServerDown))
	case old == StateStopped:
		e.Events.Publish(s.event(EventServerUp))
	}
	ev := s.event(EventServerState)
	ev.State = &StateChange{OldState: old, NewState: cur, Cause: cause, Admin: admin}
	e.Events.Publish(ev)
}

// srvAdminBits returns the admin state as HAProxy's SRV_ADMF_* bits, for
// "show servers state": FMAINT 0x01, CMAINT 0x04 (a "disabled" server),
// FDRAIN 0x08.
func (s *Server) srvAdminBitsLocked() int {
	n := 0
	if s.admin.InMaint() {
		n |= 0x01
	}
	if s.admin&AdminCMaint != 0 || (s.admin.InMaint() && hasWord(s.Line.Args, "disabled")) {
		n |= 0x04
	}
	if s.admin&AdminDrain != 0 {
		n |= 0x08
	}
	return n
}

func hasWord(args []string, w string) bool {
	for _, a := range args {
		if a == w {
			return true
		}
	}
	return false
}
