package core

import (
	"fmt"
	"strings"

	"luaproxy/core/config"
)

// UseServer is a "use-server <server> if|unless <cond>" rule: the server
// takes a matching stream, before load balancing, when it is usable.
type UseServer struct {
	condRule
	Name string
	srv  *Server // bound by resolveUseServers
	// dyn is the name's log-format ("use-server %[req.hdr(x)] ..."),
	// rendered per stream; nil for a static name.
	dyn Format
}

// parseUseServer parses "use-server <server> if|unless <cond>"; the
// condition is mandatory, as in HAProxy.
func (e *Engine) parseUseServer(px *Proxy, l config.Line) error {
	args := l.Args
	if px.Kind == "defaults" {
		return l.Errorf("'%s' not allowed in 'defaults' section.", args[0])
	}
	if px.Cap&CapBE == 0 {
		// HAProxy warns, keeps the rule, and fails to find its server.
		e.warn(l.Warnf("'%s' ignored because %s '%s' has no backend capability.", args[0], px.Kind, px.Name))
	}
	if len(args) < 2 || args[1] == "" {
		return l.Errorf("'%s' expects a server name.", args[0])
	}
	if len(args) < 3 || (args[2] != "if" && args[2] != "unless") {
		return l.Errorf("'%s' requires either 'if' or 'unless' followed by a condition.", args[0])
	}
	c, err := e.parseCondWith(px, args[2:], l,
		func(w string) error {
			return l.Errorf("'%s' requires either 'if' or 'unless' followed by a condition.", args[0])
		},
		func(err error) error {
			return l.Errorf("'%s' : error detected while parsing switching rule : %v.", args[0], err)
		})
	if err != nil {
		return err
	}
	u := &UseServer{condRule: c, Name: args[1]}
	if strings.Contains(args[1], "%[") {
		if u.dyn, err = ParseFormat(e, px, args[1], l); err != nil {
			return err
		}
	}
	px.UseServers = append(px.UseServers, u)
	return nil
}

// resolveUseServers binds the use-server rules to their servers once the
// section's servers are known.
func (px *Proxy) resolveUseServers() error {
	for _, u := range px.UseServers {
		if u.dyn != nil {
			continue
		}
		for _, s := range px.Servers {
			if s.Name == u.Name {
				u.srv = s
				break
			}
		}
		if u.srv == nil {
			return fmt.Errorf("%s '%s' : unable to find server '%s' referenced in a 'use-server' rule.", proxyTypeStr(px), px.Name, u.Name)
		}
	}
	return nil
}

// proxyTypeStr is HAProxy's proxy_type_str: "proxy" for a listen
// section.
func proxyTypeStr(px *Proxy) string {
	switch px.Kind {
	case "listen":
		return "proxy"
	}
	return px.Kind
}

// useServerRules returns the server of the first matching use-server rule
// whose server is not DOWN (or any with "option persist"), HAProxy's
// process_server_rules; nil lets load balancing choose.
func (s *Stream) useServerRules(be *Proxy) *Server {
	for _, u := range be.UseServers {
		if !u.ok(s) {
			continue
		}
		srv := u.srv
		if u.dyn != nil {
			// HAProxy compat: a name naming no server ends the rules.
			if srv = be.serverNamed(u.dyn.Render(s)); srv == nil {
				return nil
			}
		}
		if srv.IsUp() || be.Options.Persist {
			return srv
		}
	}
	return nil
}

// serverNamed returns the server of px named name, nil if none.
func (px *Proxy) serverNamed(name string) *Server {
	px.srvMu.RLock()
	defer px.srvMu.RUnlock()
	return px.findServerLocked(name)
}

// directServer is the server a stream goes to without load balancing in
// TCP mode: a use-server rule's, else a stick match's (stick rules still
// run, to remember their store keys). HTTP puts a persistence cookie's
// between the two.
func (s *Stream) directServer(be *Proxy) *Server {
	stick := s.stickRules(be)
	if srv := s.useServerRules(be); srv != nil {
		return srv
	}
	return stick
}
