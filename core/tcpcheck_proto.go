package core

// The protocol checks ("option redis-check", "smtpchk", "pgsql-check",
// "mysql-check", "ldap-check"), built from tcp-check rules as HAProxy 2.6
// builds them in src/tcpcheck.c, so that they fail with its reasons.

import (
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"

	"luaproxy/core/config"
)

// parseRedisCheck builds "option redis-check" as HAProxy does: a PING and
// an expected "+PONG".
func parseRedisCheck(px *Proxy) {
	tc := &TCPCheck{Proto: "redis"}
	tc.add(&TCPCheckRule{Action: tcpchkSend, Data: []byte("*1\r\n$4\r\nPING\r\n")})
	tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "string", Pattern: []byte("+PONG\r\n"), MinRecv: -1,
		OKStatus: "L7OK", ErrStatus: "L7STS", ToutStat: "L7TOUT",
		OnSuccess: literal("Redis server is ok"), OnError: respLine{}})
	px.TCPCheck = tc
}

// parseSMTPChk builds "option smtpchk [EHLO|HELO <domain>]" as HAProxy
// 2.6 does: the banner, the greeting, then QUIT, each reply's code being
// the check's code and its text the check's information.
func parseSMTPChk(px *Proxy, args []string) {
	cmd := "HELO localhost"
	if len(args) >= 2 && (args[0] == "EHLO" || args[0] == "HELO") {
		cmd = args[0] + " " + args[1]
	}
	code := func(b []byte) int {
		if len(b) < 3 {
			return 0
		}
		n, _ := strconv.Atoi(string(b[:3]))
		return n
	}
	exp := func(re string, minRecv int, errSt string, onErr, onOK Format, codeOf func([]byte) int) *TCPCheckRule {
		return &TCPCheckRule{Action: tcpchkExpect, Kind: "rstring", Re: regexp.MustCompile(re), MinRecv: minRecv,
			OKStatus: "L7OK", ErrStatus: errSt, ToutStat: "L7TOUT", OnError: onErr, OnSuccess: onOK, CodeOf: codeOf}
	}
	text := respLine{off: 4, ltrim: true}
	tc := &TCPCheck{Proto: "smtp"}
	tc.add(&TCPCheckRule{Action: tcpchkConnect})
	tc.add(exp(`^[0-9]{3}[ \r]`, 4, "L7RSP", respLine{}, nil, nil))
	tc.add(exp(`^2[0-9]{2}[ \r]`, 4, "L7STS", text, nil, code))
	tc.add(&TCPCheckRule{Action: tcpchkSend, Data: []byte(cmd + "\r\n")})
	tc.add(exp(`^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]`, -1, "L7STS", text, text, code))
	tc.add(&TCPCheckRule{Action: tcpchkSend, Data: []byte("QUIT\r\n")})
	tc.add(exp(`^2[0-9]{2}[- \r]`, 4, "L7STS", text, text, code))
	px.TCPCheck = tc
}

// parsePgSQLCheck builds "option pgsql-check user <name>" as HAProxy 2.6
// does: a startup message, then an Authentication request expected (ok,
// or a password, MD5, SCM, GSS, SSPI or SASL request: the server is
// alive; checked against haproxy 2.6.12); an ErrorResponse's severity is
// the check's information.
func parsePgSQLCheck(px *Proxy, l config.Line, args []string) error {
	if len(args) < 2 || args[0] == "" || args[1] == "" {
		return l.Errorf("'%s %s' expects 'user <username>' as argument.", l.Args[0], l.Args[1])
	}
	if args[0] != "user" {
		return l.Errorf("'%s %s' only supports optional values: 'user'.", l.Args[0], l.Args[1])
	}
	user := args[1]
	req := binary.BigEndian.AppendUint32(nil, uint32(15+len(user)))
	req = append(req, 0, 3, 0, 0)
	req = append(req, "user\x00"...)
	req = append(append(req, user...), 0, 0)
	tc := &TCPCheck{Proto: "pgsql"}
	tc.add(&TCPCheckRule{Action: tcpchkConnect, Default: true})
	tc.add(&TCPCheckRule{Action: tcpchkSend, Data: req})
	tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "rstring", Re: regexp.MustCompile(`^E`), Inverse: true, MinRecv: 5,
		OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT", OnError: respLine{off: 6, cstring: true}})
	tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "rbinary", Re: regexp.MustCompile(`^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)`), MinRecv: 9,
		OKStatus: "L7OK", ErrStatus: "L7STS", ToutStat: "L7TOUT",
		OnSuccess: literal("PostgreSQL server is ok"), OnError: literal("PostgreSQL unknown error")})
	px.TCPCheck = tc
	return nil
}

// parseMySQLCheck builds "option mysql-check [user <name> [post-41|pre-41]]"
// as HAProxy 2.6 does: the server's handshake expected, then, with a
// user, an authentication without password and a COM_QUIT, and the
// server's OK expected. An error packet's code and message are the
// check's code and information.
func parseMySQLCheck(px *Proxy, l config.Line, args []string) error {
	tc := &TCPCheck{Proto: "mysql"}
	tc.add(&TCPCheckRule{Action: tcpchkConnect, Default: true})
	handshake := &TCPCheckRule{Action: tcpchkExpect, Kind: "custom", MinRecv: -1, OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT",
		Custom: func(run *tcpCheckRun, r *TCPCheckRule, lastRead bool) (bool, bool) {
			return run.mysqlPacket(r, 0, lastRead)
		}}
	tc.add(handshake)
	if len(args) > 0 && args[0] != "" {
		if args[0] != "user" {
			return l.Errorf("'%s %s' only supports optional values: 'user' (got '%s').", l.Args[0], l.Args[1], args[0])
		}
		if len(args) < 2 || args[1] == "" {
			return l.Errorf("'%s %s %s' expects <username> as argument.", l.Args[0], l.Args[1], args[0])
		}
		user := args[1]
		pre41 := false
		if len(args) > 2 && args[2] != "" {
			if args[2] != "post-41" && args[2] != "pre-41" {
				return l.Errorf("keyword '%s' only supports 'post-41' and 'pre-41' (got '%s').", args[0], args[2])
			}
			pre41 = args[2] == "pre-41"
		}
		var body []byte
		if pre41 {
			body = append([]byte{0x00, 0x80, 0x00, 0x00, 0x01}, user...)
		} else {
			body = append([]byte{0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21}, make([]byte, 23)...)
			body = append(body, user...)
		}
		body = append(body, 0x00, 0x00)                                  // the user's end, no password
		n := len(body)                                                   // userlen+7 (pre-41) or +34
		req := []byte{byte(n), byte(n >> 8), byte(n >> 16), 1}           // length, sequence 1
		req = append(append(req, body...), 0x01, 0x00, 0x00, 0x00, 0x01) // COM_QUIT
		tc.add(&TCPCheckRule{Action: tcpchkSend, Data: req, KeepInput: true})
		tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "custom", MinRecv: -1, OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT",
			Custom: func(run *tcpCheckRun, r *TCPCheckRule, lastRead bool) (bool, bool) {
				return run.mysqlPacket(r, 4+mysqlLen(run.buf, 0), lastRead)
			}})
	}
	px.TCPCheck = tc
	return nil
}

// parseLDAPCheck builds "option ldap-check" as HAProxy 2.6 does: an
// anonymous LDAPv3 bind, and its bindResponse's resultCode as the check's
// code (0: success).
func parseLDAPCheck(px *Proxy) {
	tc := &TCPCheck{Proto: "ldap"}
	tc.add(&TCPCheckRule{Action: tcpchkConnect, Default: true})
	tc.add(&TCPCheckRule{Action: tcpchkSend, Data: []byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00")})
	tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "rbinary", Re: regexp.MustCompile(`^30`), MinRecv: 14,
		OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT", OnError: literal("Not LDAPv3 protocol")})
	tc.add(&TCPCheckRule{Action: tcpchkExpect, Kind: "custom", MinRecv: -1, OKStatus: "L7OK", ErrStatus: "L7RSP", ToutStat: "L7TOUT",
		Custom: func(run *tcpCheckRun, r *TCPCheckRule, lastRead bool) (bool, bool) { return run.ldapBindResponse(r) }})
	px.TCPCheck = tc
}

// ldapBindResponse judges an LDAP bindResponse, HAProxy's
// tcpcheck_ldap_expect_bindrsp (the previous rule made sure 14 bytes
// are there).
func (run *tcpCheckRun) ldapBindResponse(r *TCPCheckRule) (wait, fail bool) {
	b := run.buf
	at := func(i int) byte {
		if i < len(b) {
			return b[i]
		}
		return 0
	}
	notLDAP := func() (bool, bool) {
		run.done("L7RSP", "Not LDAPv3 protocol")
		return false, true
	}
	n := 0 // the length of the LDAPMessage's length
	if at(1)&0x80 != 0 {
		n = int(at(1) & 0x7f)
	}
	// messageID 1, then a bindResponse
	if at(2+n) != 0x02 || at(3+n) != 0x01 || at(4+n) != 0x01 || at(5+n) != 0x61 {
		return notLDAP()
	}
	if at(n+6)&0x80 != 0 {
		n += int(at(n+6) & 0x7f)
	}
	if at(7+n) != 0x0a || at(8+n) != 0x01 { // the resultCode's ENUMERATED
		return notLDAP()
	}
	run.res.Code = int(at(9 + n))
	if run.res.Code != 0 {
		run.done("L7STS", "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9")
		return false, true
	}
	// HAProxy sets "Success" here, then its end of the rules replaces the
	// information: 2.6.12 logs none.
	run.done(r.OKStatus, "")
	return false, true
}

// mysqlLen is the length of the MySQL packet at off (0 if truncated).
func mysqlLen(b []byte, off int) int {
	if len(b) < off+3 {
		return 0
	}
	return int(b[off]) | int(b[off+1])<<8 | int(b[off+2])<<16
}

// mysqlPacket judges the MySQL packet at off, HAProxy's
// tcpcheck_mysql_expect_packet.
func (run *tcpCheckRun) mysqlPacket(r *TCPCheckRule, off int, lastRead bool) (wait, fail bool) {
	b := run.buf
	if len(b) < off+4 || len(b) < off+mysqlLen(b, off)+4 {
		if !lastRead {
			return true, false
		}
		run.done("L7RSP", "") // invalid length or truncated response
		return false, true
	}
	if b[off+4] == 0xff { // an error packet
		if len(b) >= off+7 {
			run.res.Code = int(b[off+5]) | int(b[off+6])<<8
		}
		msg := string(b[min(off+7, len(b)):])
		msg, _, _ = strings.Cut(msg, "\x00")
		run.done("L7STS", msg)
		return false, true
	}
	if r.Index != len(run.tc.Rules)-1 {
		return false, false
	}
	// HAProxy means to report the server version here; 2.6.12 logs no
	// information on success.
	run.done(r.OKStatus, "")
	return false, true // the last rule: the check passed
}

// respLine is "%[res.payload(off,0),ltrim(' '),cut_crlf]" over a check's
// response: its first line from off, the protocol checks' information.
type respLine struct {
	off   int
	ltrim bool
	// cstring is "%[res.payload(off,0)]" alone: the check's information
	// ends at a NUL byte (HAProxy copies it as a C string).
	cstring bool
}

func (respLine) Render(*Stream) string { return "" }

func (f respLine) of(resp []byte) string {
	if f.off > len(resp) {
		return ""
	}
	s := string(resp[f.off:])
	if f.cstring {
		s, _, _ = strings.Cut(s, "\x00")
		return s
	}
	if f.ltrim {
		s = strings.TrimLeft(s, " ")
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// renderCheckFormat renders an on-success or on-error format for run's
// response.
func (run *tcpCheckRun) renderCheckFormat(f Format) string {
	if rl, ok := f.(respLine); ok {
		return rl.of(run.buf)
	}
	return renderIn(f, run.sampleCtx())
}
