package core

import (
	"strings"

	"luaproxy/core/config"
)

// Monitor requests (manual 4.2 "monitor-uri", "monitor fail"): a request
// for the frontend's monitor URI is answered by the proxy itself, before
// any http-request rule, with its 200 message, or its 503 one when a
// "monitor fail" condition holds. HAProxy compat: such requests are not
// logged.

// monitorConf is a frontend's monitor-uri setting.
type monitorConf struct {
	uri string
	// fails are the "monitor fail" conditions, in order; one holding
	// fails the request.
	fails []condRule
}

// parseMonitorURI parses "monitor-uri <uri>"; the last one wins.
func (e *Engine) parseMonitorURI(px *Proxy, l config.Line) error {
	args := l.EffectiveArgs()
	if px.Kind != "defaults" && px.Cap&CapFE == 0 {
		e.warn(l.Warnf("'monitor-uri' ignored because %s has no frontend capability.", px))
		return nil
	}
	if len(args) < 2 {
		return l.Errorf("'monitor-uri' expects an URI.")
	}
	if len(args) > 2 {
		return l.Errorf("'monitor-uri' cannot handle unexpected argument '%s'.", args[2])
	}
	m := &monitorConf{uri: args[1]}
	if px.monitor != nil {
		m.fails = px.monitor.fails
	}
	px.monitor = m
	return nil
}

// parseMonitor parses "monitor fail { if | unless } <cond>".
func (e *Engine) parseMonitor(px *Proxy, l config.Line) error {
	if px.Kind == "defaults" {
		return l.Errorf("'monitor' not allowed in 'defaults' section.")
	}
	if px.Cap&CapFE == 0 {
		e.warn(l.Warnf("'monitor' ignored because %s has no frontend capability.", px))
		return nil
	}
	args := l.EffectiveArgs()
	if len(args) < 2 || args[1] != "fail" {
		return l.Errorf("'monitor' only supports 'fail'.")
	}
	if len(args) < 4 || args[2] != "if" && args[2] != "unless" {
		return l.Errorf("'monitor fail' requires either 'if' or 'unless' followed by a condition.")
	}
	c, err := e.parseCondWith(px, args[2:], l, nil, func(err error) error {
		return l.Errorf("error detected while parsing a 'monitor fail' condition : %v.", err)
	})
	if err != nil {
		return err
	}
	m := &monitorConf{}
	if px.monitor != nil {
		*m = *px.monitor
	}
	m.fails = append(m.fails[:len(m.fails):len(m.fails)], c)
	px.monitor = m
	return nil
}

// monitorReply answers a monitor request of the frontend, nil for another
// request. HAProxy compat: a URI starting with '/' is compared with the
// request's path, another one with its whole URI.
func (s *Stream) monitorReply(tx *HTTPTxn) *Reply {
	m := s.Frontend.monitor
	if m == nil || m.uri == "" {
		return nil
	}
	uri := tx.Req.URI
	if m.uri[0] == '/' {
		uri = requestPath(uri)
	}
	if uri != m.uri {
		return nil
	}
	tx.monitor = true
	extOf(s).setTerm('L', 'R')
	for _, c := range m.fails {
		if c.ok(s) {
			return s.ErrorReply(503)
		}
	}
	return s.ErrorReply(200)
}

// requestPath returns the path of a request URI, its query string
// included (HAProxy's http_parse_path): the URI itself in origin form,
// from the first '/' after the authority in absolute form.
func requestPath(uri string) string {
	if len(uri) > 0 && uri[0] != '/' {
		// absolute form: skip "scheme://authority"
		if i := strings.Index(uri, "://"); i >= 0 {
			rest := uri[i+3:]
			j := 0
			for j < len(rest) && rest[j] != '/' {
				j++
			}
			uri = rest[j:]
		}
	}
	return uri
}
