package core

import "fmt"

// Process control behind the signals (cmd/luaproxy): soft stop, SIGHUP's
// server state dump and log reopening, in HAProxy 2.6's words.

// SoftStop stops accepting connections, as SIGUSR1 and "-sf" ask: each
// proxy logs "Proxy <name> stopped (cumulated conns: FE: n, BE: m).", the
// listeners drain and close, streams in progress go on (Wait waits for
// them).
func (e *Engine) SoftStop() {
	if e.Stopping() {
		return
	}
	for _, px := range e.Proxies {
		var fe, be int64
		if px.Cap&CapFE != 0 {
			fe = px.Total.Load()
		}
		for _, s := range px.servers() {
			be += s.Total.Load()
		}
		msg := fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: %d, BE: %d).", px.Name, fe, be)
		e.Log.Warning("%s", msg)
		e.sendLog(LogWarning, msg)
	}
	e.Stop()
}

// DumpServerStates logs the state of every server and proxy, as HAProxy
// does on SIGHUP.
func (e *Engine) DumpServerStates() {
	warn := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		e.Log.Warning("%s", msg)
		e.sendLog(LogNotice, msg)
	}
	warn("SIGHUP received, dumping servers states.")
	for _, px := range e.Proxies {
		var feConns, feTotal int64
		if px.Cap&CapFE != 0 {
			feConns, feTotal = px.Conns.Load(), px.Total.Load()
		}
		beConns, beTotal := px.BeConns.Load(), int64(0)
		servers := px.servers()
		for _, s := range servers {
			s.mu.Lock()
			state := "DOWN"
			switch {
			case s.admin.InMaint():
				state = "MAINT"
			case s.state == StateStopping:
				state = "NOLB"
			case s.state != StateStopped:
				state = "UP"
			}
			s.mu.Unlock()
			beTotal += s.Total.Load()
			warn("SIGHUP: Server %s is %s. Conn: %d act, %d pend, %d tot.", s, state, s.Conns.Load(), s.srvQueueLen(), s.Total.Load())
		}
		conn := fmt.Sprintf("Conn: act(FE+BE): %d+%d, %d pend (%d unass), tot(FE+BE): %d+%d.",
			feConns, beConns, px.pendingLen(), px.queueLen(), feTotal, beTotal)
		active, backup := px.countUsable()
		switch {
		case len(servers) == 0:
			warn("SIGHUP: Proxy %s has no servers. %s", px.Name, conn)
		case active+backup == 0:
			warn("SIGHUP: Proxy %s has no server available ! %s", px.Name, conn)
		default:
			warn("SIGHUP: Proxy %s has %d active servers and %d backup servers available. %s", px.Name, active, backup, conn)
		}
	}
}

// ReopenLogs closes the connections of the syslog targets, which the next
// message opens again (after the syslog daemon restarted, or its socket was
// replaced); stdout and stderr have nothing to reopen.
func (e *Engine) ReopenLogs() {
	seen := map[*LogTarget]bool{}
	reopen := func(t *LogTarget) {
		if seen[t] {
			return
		}
		seen[t] = true
		t.mu.Lock()
		if t.conn != nil {
			_ = t.conn.Close()
			t.conn = nil
		}
		t.mu.Unlock()
	}
	for _, t := range e.Logs {
		reopen(t)
	}
	for _, px := range e.Proxies {
		for _, t := range px.Logs {
			reopen(t)
		}
	}
}
