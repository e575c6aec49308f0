package core

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// "show stat": HAProxy 2.6's CSV statistics, one line per frontend, server
// and backend, with the fields luaproxy has values for and the others left
// empty where HAProxy leaves them empty, 0 where HAProxy shows a counter
// luaproxy does not keep.

// statFields are the CSV columns of HAProxy 2.6 ("-" separates the
// generic fields from the modules' ones).
var statFields = strings.Split("pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"+
	"wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,"+
	"tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,"+
	"hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,"+
	"comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,"+
	"agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,"+
	"agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,"+
	"reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,"+
	"idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"+
	"agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,"+
	"h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,"+
	"h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,"+
	"h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,"+
	"h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,"+
	"h1_spliced_bytes_in,h1_spliced_bytes_out", ",")

var statIndex = func() map[string]int {
	m := make(map[string]int, len(statFields))
	for i, f := range statFields {
		m[f] = i
	}
	return m
}()

// HAProxy compat: the fields HAProxy 2.6 shows as 0 when it has no
// activity to count, per kind of line; the other ones stay empty unless
// filled.
var (
	statZeroCommon = "dresp,pid,rate,rate_max,wrew,eint,ssl_sess,ssl_reused_sess,ssl_failed_handshake"
	statZeroFE     = statZeroCommon + ",scur,smax,stot,bin,bout,dreq,ereq,rate_lim,req_rate,req_rate_max," +
		"req_tot,comp_in,comp_out,comp_byp,comp_rsp,conn_rate,conn_rate_max,conn_tot,dcon,dses," + statZeroMux
	statZeroBE = statZeroCommon + ",qcur,qmax,scur,smax,stot,bin,bout,dreq,econ,eresp,wretr,wredis,chkdown," +
		"downtime,lbtot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,qtime,ctime,rtime,ttime,connect," +
		"reuse,qtime_max,ctime_max,rtime_max,ttime_max,agg_server_status,agg_server_check_status," +
		"agg_check_status," + statZeroMux
	statZeroSrv = statZeroCommon + ",qcur,qmax,scur,smax,stot,bin,bout,econ,eresp,wretr,wredis,lbtot," +
		"cli_abrt,srv_abrt,qtime,ctime,rtime,ttime,connect,reuse,srv_icur,qtime_max,ctime_max,rtime_max," +
		"ttime_max,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est"
	statZeroMux = "h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd," +
		"h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp," +
		"h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams," +
		"h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out," +
		"h1_spliced_bytes_in,h1_spliced_bytes_out"
	// in mode http
	statZeroHTTP = "hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot"
)

// statLine is one CSV line being filled.
type statLine []string

func newStatLine(zero ...string) statLine {
	l := make(statLine, len(statFields))
	l[statIndex["-"]] = "-"
	for _, z := range zero {
		for _, f := range strings.Split(z, ",") {
			l[statIndex[f]] = "0"
		}
	}
	return l
}

func (l statLine) set(field string, v any) {
	i, ok := statIndex[field]
	if !ok {
		panic("core: unknown stat field " + field)
	}
	switch v := v.(type) {
	case string:
		l[i] = v
	case int:
		l[i] = strconv.Itoa(v)
	case int64:
		l[i] = strconv.FormatInt(v, 10)
	default:
		panic("core: bad stat value")
	}
}

func (l statLine) String() string { return strings.Join(l, ",") + ",\n" }

// Stat types of the "show stat <iid> <type> <sid>" filter.
const (
	statTypeFE  = 1
	statTypeBE  = 2
	statTypeSrv = 4
)

// statFilter is what "show stat" was asked for.
type statFilter struct {
	iid   int // -1: every proxy
	types int
	sid   int // -1: every server
	up    bool
	noMnt bool
}

// writeStats writes the CSV statistics, header included.
func (e *Engine) writeStats(r *CLIRequest, f statFilter) {
	r.Print("# " + strings.Join(statFields, ",") + ",\n")
	now := time.Now()
	st := &e.cliState().stats
	for _, px := range e.Proxies {
		if f.iid != -1 && px.ID != f.iid {
			continue
		}
		if px.Cap&CapFE != 0 && f.types&statTypeFE != 0 {
			r.Print(e.frontendStats(px).String())
		}
		if px.Cap&CapBE == 0 {
			continue
		}
		if f.types&statTypeSrv != 0 {
			for _, s := range px.servers() {
				if f.sid != -1 && s.ID != f.sid {
					continue
				}
				s.mu.Lock()
				maint, up := s.admin.InMaint(), s.state != StateStopped
				s.mu.Unlock()
				if (f.noMnt && maint) || (f.up && (maint || !up)) {
					continue
				}
				r.Print(e.serverStats(s, st, now).String())
			}
		}
		if f.types&statTypeBE != 0 {
			l := e.backendStats(px, st, now)
			if f.up || f.noMnt {
				px.statusWithCounts(l)
			}
			r.Print(l.String())
		}
	}
}

// statMaxConn is the global maxconn, or when none is set what HAProxy
// derives from the descriptor limit: half of it, a proxied connection
// holding two.
func (e *Engine) statMaxConn() int {
	if e.MaxConn > 0 {
		return e.MaxConn
	}
	return int(fdLimit() / 2)
}

func (e *Engine) frontendStats(px *Proxy) statLine {
	zero := []string{statZeroFE}
	if px.Mode == "http" {
		zero = append(zero, statZeroHTTP, "intercepted,cache_lookups,cache_hits")
	}
	l := newStatLine(zero...)
	l.set("pxname", px.Name)
	l.set("svname", "FRONTEND")
	cur := px.Conns.Load()
	l.set("scur", cur)
	l.set("smax", e.cliState().stats.maxSessions(px, cur))
	if px.MaxConn > 0 {
		l.set("slim", px.MaxConn)
	} else {
		l.set("slim", e.statMaxConn())
	}
	l.set("stot", px.Total.Load())
	l.set("conn_tot", px.Total.Load())
	status := "OPEN"
	switch {
	case e.Stopping():
		status = "STOP"
	case e.cliState().fe.paused(px):
		status = "PAUSED"
	}
	l.set("status", status)
	l.set("pid", 1)
	l.set("iid", px.ID)
	l.set("sid", 0)
	l.set("type", 0)
	if px.Mode == "http" {
		l.set("req_tot", px.Requests.Load())
		l.set("intercepted", px.Intercepted.Load())
	}
	px.compStats.fill(l)
	l.set("mode", px.Mode)
	return l
}

func (e *Engine) backendStats(px *Proxy, st *statsTracker, now time.Time) statLine {
	zero := []string{statZeroBE}
	if px.Mode == "http" {
		zero = append(zero, statZeroHTTP, "cache_lookups,cache_hits")
	}
	l := newStatLine(zero...)
	l.set("pxname", px.Name)
	l.set("svname", "BACKEND")
	var act, bck, wact, wbck, stot int64
	for _, s := range px.servers() {
		s.mu.Lock()
		usable, w := s.usableLocked(), int64(s.weight)
		s.mu.Unlock()
		stot += s.Total.Load()
		switch {
		case !usable:
		case s.Backup:
			bck++
			wbck += w
		default:
			act++
			wact += w
		}
	}
	weight := wact
	if act == 0 {
		weight = wbck
		if !px.Options.AllBackups && bck > 0 {
			weight = px.firstBackupWeight()
		}
	}
	peak, _ := px.queuePeaks(nil)
	l.set("qcur", px.queueLen())
	l.set("qmax", peak)
	cur := px.BeConns.Load()
	l.set("scur", cur)
	l.set("smax", st.maxSessions(px, cur))
	l.set("slim", (e.statMaxConn()+9)/10)
	l.set("stot", stot)
	l.set("lbtot", stot)
	status := "UP"
	if act+bck == 0 {
		status = "DOWN"
	}
	l.set("status", status)
	l.set("weight", weight)
	l.set("uweight", weight)
	l.set("act", act)
	l.set("bck", bck)
	ps := st.proxy(px)
	l.set("chkdown", ps.chkDown)
	l.set("lastchg", int64(now.Sub(ps.lastChange)/time.Second))
	l.set("downtime", int64(ps.downtime(now)/time.Second))
	l.set("pid", 1)
	l.set("iid", px.ID)
	l.set("sid", 0)
	l.set("type", 1)
	l.set("lastsess", -1)
	px.compStats.fill(l)
	l.set("mode", px.Mode)
	l.set("algo", px.Balance.Algo)
	if px.Balance.Algo == "hdr" {
		l.set("algo", "hdr("+px.Balance.Hdr+")")
	}
	if px.Balance.Algo == "random" {
		l.set("algo", "random")
	}
	return l
}

// statusWithCounts appends to a backend line's status the servers that
// are up and the servers, "UP (1/2)", as HAProxy does when down or
// maintenance servers are hidden.
func (px *Proxy) statusWithCounts(l statLine) {
	up, all := 0, 0
	for _, s := range px.servers() {
		s.mu.Lock()
		if s.state != StateStopped && !s.admin.InMaint() {
			up++
		}
		s.mu.Unlock()
		all++
	}
	i := statIndex["status"]
	l[i] += " (" + strconv.Itoa(up) + "/" + strconv.Itoa(all) + ")"
}

// firstBackupWeight is the weight of the backup server in use when no
// active server is (without "option allbackups", only the first one).
func (px *Proxy) firstBackupWeight() int64 {
	px.lbMu.Lock()
	defer px.lbMu.Unlock()
	if len(px.lbBackup) == 0 {
		return 0
	}
	return int64(px.lbBackup[0].weightForLB())
}

func (e *Engine) serverStats(s *Server, st *statsTracker, now time.Time) statLine {
	px := s.Proxy
	zero := []string{statZeroSrv}
	if px.Mode == "http" {
		zero = append(zero, statZeroHTTP)
	}
	l := newStatLine(zero...)
	s.mu.Lock()
	state, admin, weight, health := s.state, s.admin, s.weight, s.health
	maxconn, chk, checking := s.MaxConn, s.lastChk, s.checkRunningLocked()
	addr := s.Addr
	s.mu.Unlock()

	l.set("pxname", px.Name)
	l.set("svname", s.Name)
	_, qpeak := px.queuePeaks(s)
	l.set("qcur", s.srvQueueLen())
	l.set("qmax", qpeak)
	if s.MaxQueue > 0 {
		l.set("qlimit", s.MaxQueue)
	}
	cur := s.Conns.Load()
	l.set("scur", cur)
	l.set("smax", st.maxSessions(s, cur))
	if maxconn > 0 {
		l.set("slim", maxconn)
	}
	l.set("stot", s.Total.Load())
	l.set("lbtot", s.Total.Load())
	l.set("econ", s.Failed.Load())
	l.set("status", serverStatus(s, state, admin, health, checking))
	l.set("weight", weight)
	l.set("uweight", weight)
	if s.Backup {
		l.set("act", 0)
		l.set("bck", 1)
	} else {
		l.set("act", 1)
		l.set("bck", 0)
	}
	ss := st.server(s)
	l.set("lastchg", int64(now.Sub(ss.lastChange)/time.Second))
	if checking {
		l.set("chkfail", ss.chkFail)
		l.set("chkdown", ss.chkDown)
		l.set("downtime", int64(ss.downtime(now)/time.Second))
		l.set("check_rise", s.Check.Rise)
		l.set("check_fall", s.Check.Fall)
		l.set("check_health", health)
		if chk == nil {
			l.set("check_status", "INI")
			l.set("check_desc", "Initializing")
		} else {
			l.set("check_status", chk.Status)
			if chk.Code != 0 {
				l.set("check_code", chk.Code)
			}
			l.set("check_duration", chk.Duration.Milliseconds())
			l.set("check_desc", chk.Desc())
			if chk.Info != "" {
				l.set("last_chk", csvField(chk.Info))
			}
		}
	}
	l.set("pid", 1)
	l.set("iid", px.ID)
	l.set("sid", s.ID)
	l.set("type", 2)
	l.set("lastsess", -1)
	l.set("addr", addr.Address)
	if addr.Net == "unix" {
		l.set("addr", "unix@"+addr.Address)
	}
	l.set("mode", px.Mode)
	return l
}

// csvField makes text fit in a CSV field, as HAProxy's stats_emit_raw_data
// field escaping does for free text: commas become spaces.
func csvField(s string) string {
	return strings.NewReplacer(",", " ", "\n", " ", "\r", " ").Replace(s)
}

// serverStatus is the "status" of a server line (HAProxy's
// stats_fill_sv_stats): MAINT, DRAIN, NOLB, "UP 1/3" while going down,
// "DOWN 1/2" while going up, "no check" for an unchecked server.
func serverStatus(s *Server, state ServerState, admin AdminFlags, health int, checking bool) string {
	if admin.InMaint() {
		return "MAINT"
	}
	rise, fall := s.Check.Rise, s.Check.Fall
	switch state {
	case StateRunning, StateStarting:
		going := checking && health < rise+fall-1
		switch {
		case admin&AdminDrain != 0 && going:
			return "DRAIN " + strconv.Itoa(health-rise+1) + "/" + strconv.Itoa(fall)
		case admin&AdminDrain != 0:
			return "DRAIN"
		case going:
			return "UP " + strconv.Itoa(health-rise+1) + "/" + strconv.Itoa(fall)
		case !checking:
			return "no check"
		}
		return "UP"
	case StateStopping:
		if !checking || health == rise+fall-1 {
			return "NOLB"
		}
		return "NOLB " + strconv.Itoa(health-rise+1) + "/" + strconv.Itoa(fall)
	}
	if checking && health > 0 {
		return "DOWN " + strconv.Itoa(health) + "/" + strconv.Itoa(rise)
	}
	return "DOWN"
}

// statsTracker follows the engine's events to keep what HAProxy's
// counters hold and the engine does not: last state changes, down times,
// failed checks and UP->DOWN transitions, maximum sessions.
type statsTracker struct {
	mu    sync.Mutex
	e     *Engine
	sub   *Subscription
	t0    time.Time
	srv   map[*Server]*transitions
	px    map[*Proxy]*transitions
	maxes map[any]int64
}

// transitions is the history of a server or a backend.
type transitions struct {
	lastChange time.Time
	downSince  time.Time // zero while up
	down       time.Duration
	chkFail    int64
	chkDown    int64
}

func (t *transitions) downtime(now time.Time) time.Duration {
	d := t.down
	if !t.downSince.IsZero() {
		d += now.Sub(t.downSince)
	}
	return d
}

func (t *transitions) change(now time.Time, up bool) {
	t.lastChange = now
	switch {
	case !up && t.downSince.IsZero():
		t.chkDown++
		t.downSince = now
	case up && !t.downSince.IsZero():
		t.down += now.Sub(t.downSince)
		t.downSince = time.Time{}
	}
}

func (st *statsTracker) begin(e *Engine) {
	st.mu.Lock()
	st.e = e
	st.t0 = time.Now()
	st.srv = map[*Server]*transitions{}
	st.px = map[*Proxy]*transitions{}
	st.maxes = map[any]int64{}
	for _, px := range e.Proxies {
		if px.Cap&CapBE == 0 {
			continue
		}
		t := &transitions{lastChange: st.t0}
		if a, b := px.countUsable(); a+b == 0 {
			t.downSince = st.t0
		}
		st.px[px] = t
		for _, s := range px.servers() {
			t := &transitions{lastChange: st.t0}
			if s.State() == StateStopped {
				t.downSince = st.t0
			}
			st.srv[s] = t
		}
	}
	st.mu.Unlock()
	st.sub = e.Events.Subscribe(EventServerState|EventServerAdmin|EventServerCheck|EventServerAdd|EventServerDel, nil, st.onEvent)
}

func (st *statsTracker) stop() {
	if st.sub != nil {
		st.sub.Unsubscribe()
	}
}

func (st *statsTracker) onEvent(ev *Event) {
	s := ev.Server
	if s == nil {
		return
	}
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	switch ev.Type {
	case EventServerDel:
		delete(st.srv, s)
		delete(st.maxes, s)
		return
	case EventServerCheck:
		if ev.Check != nil && !ev.Check.Passed && s.State() != StateStopped {
			st.serverLocked(s).chkFail++
		}
		return
	case EventServerState:
		st.serverLocked(s).change(now, ev.State.NewState != StateStopped)
	}
	// the backend goes DOWN when no server is usable any more
	px := s.Proxy
	a, b := px.countUsable()
	t := st.proxyLocked(px)
	if up := a+b > 0; up != t.downSince.IsZero() {
		t.change(now, up)
	}
}

func (st *statsTracker) serverLocked(s *Server) *transitions {
	t := st.srv[s]
	if t == nil {
		t = &transitions{lastChange: time.Now()}
		if s.State() == StateStopped {
			t.downSince = t.lastChange
		}
		st.srv[s] = t
	}
	return t
}

func (st *statsTracker) proxyLocked(px *Proxy) *transitions {
	t := st.px[px]
	if t == nil {
		t = &transitions{lastChange: st.t0}
		st.px[px] = t
	}
	return t
}

// server returns a copy of the server's history.
func (st *statsTracker) server(s *Server) transitions {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.srv == nil {
		return transitions{lastChange: time.Now()}
	}
	return *st.serverLocked(s)
}

func (st *statsTracker) proxy(px *Proxy) transitions {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.px == nil {
		return transitions{lastChange: time.Now()}
	}
	return *st.proxyLocked(px)
}

// maxSessions returns the highest session count seen by "show stat" for
// obj (HAProxy counts every connection; luaproxy samples when asked).
func (st *statsTracker) maxSessions(obj any, cur int64) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.maxes == nil {
		return cur
	}
	if cur > st.maxes[obj] {
		st.maxes[obj] = cur
	}
	return st.maxes[obj]
}

// serversState writes "show servers state" (format version 1) for px, or
// every backend when px is nil.
func (e *Engine) serversState(r *CLIRequest, only *Proxy) {
	r.Print("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " +
		"srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health " +
		"srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord " +
		"srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	now := time.Now()
	st := &e.cliState().stats
	for _, px := range e.Proxies {
		if px.Cap&CapBE == 0 || (only != nil && px != only) {
			continue
		}
		for _, s := range px.servers() {
			r.Print(serverStateLine(s, st.server(s), now))
		}
	}
}

// HAProxy's healthcheck_status numbers of the check statuses.
var checkStatusCodes = map[string]int{
	"L4OK": 6, "L4TOUT": 7, "L4CON": 8, "L6OK": 9, "L6TOUT": 10, "L6RSP": 11,
	"L7TOUT": 12, "L7RSP": 13, "L7OK": 15, "L7OKC": 16, "L7STS": 17,
}

func serverStateLine(s *Server, t transitions, now time.Time) string {
	px := s.Proxy
	s.mu.Lock()
	addr, portless := s.Addr, s.PortFromClient
	state, health, uweight, iweight := s.state, s.health, s.weight, s.iweight
	chk, checking := s.lastChk, s.checkRunningLocked()
	adminBits := s.srvAdminBitsLocked()
	maint := s.admin.InMaint()
	chkAddr, chkPort := s.Check.Addr, s.Check.Port
	s.mu.Unlock()

	host, port, _ := net.SplitHostPort(addr.Address)
	fqdn := "-"
	if addr.Net == "unix" {
		host, port = addr.Address, "0"
	} else if ip := net.ParseIP(host); ip == nil {
		fqdn, host = host, "-"
	}
	if portless {
		port = "0"
	}
	chkStatus, chkResult := 1, 0 // HCHK_STATUS_INI, CHK_RES_UNKNOWN
	if chk != nil {
		chkStatus = checkStatusCodes[chk.Status]
		chkResult = 2 // CHK_RES_FAILED
		if chk.Passed {
			chkResult = 3 // CHK_RES_PASSED
		}
	}
	chkState := 0
	if s.Check.Enabled {
		chkState |= 0x02 // CHK_ST_CONFIGURED
		if checking {
			chkState |= 0x04 // CHK_ST_ENABLED
		}
	}
	if maint {
		if s.Check.Enabled || hasWord(s.Line.Args, "disabled") {
			chkState |= 0x08 // CHK_ST_PAUSED
		}
		state, health = StateStopped, 0
	}
	forcedID := 0
	if hasWord(s.Line.Args, "id") {
		forcedID = 1
	}
	if chkAddr == "" {
		chkAddr = "-"
	}
	return strings.Join([]string{
		strconv.Itoa(px.ID), px.Name, strconv.Itoa(s.ID), s.Name, host,
		strconv.Itoa(int(state)), strconv.Itoa(adminBits), strconv.Itoa(uweight), strconv.Itoa(iweight),
		strconv.FormatInt(int64(now.Sub(t.lastChange)/time.Second), 10),
		strconv.Itoa(chkStatus), strconv.Itoa(chkResult), strconv.Itoa(health), strconv.Itoa(chkState),
		"0", "0", strconv.Itoa(forcedID), fqdn, port, "-", "0", strconv.Itoa(chkPort), chkAddr, "-", "0",
	}, " ") + "\n"
}
