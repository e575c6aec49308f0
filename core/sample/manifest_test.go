package sample_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	// The engine registers its own fetches and converters (proxies,
	// servers, stick tables ...): link it so that they count.
	_ "luaproxy/core"
	"luaproxy/core/sample"
)

// The manifest compares the fetch and converter keywords of the manual's
// sections 7.3.1-7.3.6 with the registry. Every name is implemented here,
// provided by the engine (registered by core through RegisterFetch), or
// listed as not applicable with a reason.

// providedByCore are the keywords the engine registers: they read proxy,
// server, stream or transaction state that this package cannot see.
var providedByCore = strings.Fields(`
	act_conn avg_queue be_conn be_conn_free be_id be_name be_sess_rate be_connect_timeout be_max_retries
	be_queue_timeout be_server_timeout be_tarpit_timeout be_tunnel_timeout connslots cur_client_timeout
	cur_connect_timeout cur_max_retries cur_queue_timeout cur_server_timeout cur_tarpit_timeout
	cur_tunnel_timeout fe_client_timeout fe_conn fe_defbe fe_id fe_name fe_req_rate fe_sess_rate
	fe_tarpit_timeout nbsrv queue srv_conn srv_conn_free srv_id srv_is_up srv_iweight srv_name srv_queue
	srv_sess_rate srv_uweight srv_weight so_id so_name dst_conn txn.status txn.id32 txn.conn_retries
	txn.redispatched txn.sess_term_state txn.timer.total txn.timer.user term_events unique-id http_first_req
	capture.req.hdr capture.res.hdr server_status request_date accept_date bytes_in bytes_out req.bytes_in
	req.bytes_out res.bytes_in res.bytes_out req.timer.hdr req.timer.idle req.timer.queue req.timer.tq
	res.timer.data res.timer.hdr bc.timer.connect fc.timer.handshake fc.timer.total last_rule_file
	last_rule_line last_entity waiting_entity prio_class prio_offset cpu_calls cpu_ns_avg cpu_ns_tot
	lat_ns_avg lat_ns_tot fc_rtt fc_rttvar fc_unacked fc_sacked fc_retrans fc_fackets fc_lost
	fc_reordering bc_rtt bc_rttvar fc_http_major bc_http_major fc_rcvd_proxy fc_pp_authority fc_pp_tlv
	fc_pp_unique_id fc_err fc_err_str fc_err_name bc_err bc_err_str bc_err_name bc_reused bc_be_queue
	bc_srv_queue fc_nb_streams bc_nb_streams fc_settings_streams_limit bc_settings_streams_limit
	fc_glitches bc_glitches
	capture-req capture-res fe_exists
`)

// notApplicable maps names (or prefixes ending in '*') to why they are
// not implemented.
var notApplicable = map[string]string{
	"table_glitch_cnt":   "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"table_glitch_rate":  "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"table_avl":          "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"table_cnt":          "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc0_glitch_cnt":     "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc0_glitch_rate":    "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc0_key":            "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc1_glitch_cnt":     "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc1_glitch_rate":    "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc1_key":            "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc2_glitch_cnt":     "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc2_glitch_rate":    "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc2_key":            "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc_glitch_cnt":      "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc_glitch_rate":     "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"sc_key":             "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"src_glitch_cnt":     "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"src_glitch_rate":    "stick tables: a 3.x counter or fetch, not in 2.6; not done yet",
	"ssl_*":              "TLS termination of client and server connections is not part of luaproxy",
	"51d.*":              "51Degrees device detection needs a commercial library",
	"da-csv-conv":        "DeviceAtlas device detection needs a commercial library",
	"aes_*":              "AES converters take keys from variables in OpenSSL's way; not done yet",
	"jwt_verify":         "JWT signature verification needs certificate/key loading; decoding is done",
	"jwt_verify_cert":    "JWT signature verification needs certificate storage",
	"jwt_decrypt_*":      "JWE decryption needs certificate/key storage",
	"x509_v_err_str":     "OpenSSL verify error strings: no TLS termination",
	"eth.*":              "parses a captured SYN packet (fc_saved_syn), which needs TCP_SAVE_SYN",
	"ip.*":               "parses a captured SYN packet (fc_saved_syn), which needs TCP_SAVE_SYN",
	"tcp.*":              "parses a captured SYN packet (fc_saved_syn), which needs TCP_SAVE_SYN",
	"fc_saved_syn":       "needs TCP_SAVE_SYN on the listener",
	"fix_*":              "FIX protocol parser: out of scope for now",
	"mqtt_*":             "MQTT protocol parser: out of scope for now",
	"protobuf":           "protocol buffers parser: out of scope for now",
	"ungrpc":             "gRPC/protobuf parser: out of scope for now",
	"distcc_*":           "distcc protocol parser: out of scope",
	"rfc7239_*":          "Forwarded header helpers (3.x): not done yet",
	"date":               "the date(format) converter is 3.x; the date fetch is implemented",
	"quic_enabled":       "no QUIC in luaproxy",
	"bs.*":               "H2/QUIC stream state of the backend side: luaproxy speaks HTTP/1 only",
	"fs.*":               "H2/QUIC stream state of the frontend side: luaproxy speaks HTTP/1 only",
	"internal.*":         "HAProxy's HTX debugging fetches",
	"res.cache_hit":      "no HTTP cache in luaproxy",
	"res.cache_name":     "no HTTP cache in luaproxy",
	"res.comp":           "no compression filter in luaproxy",
	"res.comp_algo":      "no compression filter in luaproxy",
	"acl":                "acl() fetch (3.x) needs the proxy's ACLs inside expressions; conditions cover it",
	"req.ssl_cipherlist": "",
	"req.ssl_sigalgs":    "",
}

// manualKeywords extracts the keyword tables of sections 7.3.1 to 7.3.6.
func manualKeywords(t *testing.T) (convs, fetches []string) {
	path := filepath.Join("..", "..", "..", "shared", "reference", "haproxy-configuration.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("manual not found: %v", err)
	}
	defer f.Close()
	section := ""
	inTable := false
	secRE := regexp.MustCompile(`^(7\.3\.[1-6])\. `)
	kwRE := regexp.MustCompile(`^\s*([a-z0-9_.+-]+[a-z0-9_+-])(\(|\s)`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := secRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if strings.HasPrefix(line, "7.3.7.") || strings.HasPrefix(line, "7.4.") {
			section = ""
		}
		if section == "" {
			continue
		}
		if strings.Contains(line, "keyword") && strings.Contains(line, "output type") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "-- keyword") {
			if strings.HasPrefix(line, "---") && len(convs)+len(fetches) > 0 && !strings.Contains(line, "+-") {
				inTable = false
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			inTable = false
			continue
		}
		m := kwRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if section == "7.3.1" {
			convs = append(convs, m[1])
		} else {
			fetches = append(fetches, m[1])
		}
	}
	return convs, fetches
}

func naReason(name string) (string, bool) {
	if r, ok := notApplicable[name]; ok {
		return r, true
	}
	for k, r := range notApplicable {
		if strings.HasSuffix(k, "*") && strings.HasPrefix(name, strings.TrimSuffix(k, "*")) {
			return r, true
		}
	}
	return "", false
}

func TestManifest(t *testing.T) {
	convs, fetches := manualKeywords(t)
	if p := os.Getenv("MANIFEST_DUMP"); p != "" {
		os.WriteFile(p, []byte(strings.Join(append(convs, fetches...), "\n")), 0o644)
	}
	if len(convs) < 100 || len(fetches) < 300 {
		t.Fatalf("manual parsing found only %d converters and %d fetches", len(convs), len(fetches))
	}
	core := map[string]bool{}
	for _, n := range providedByCore {
		core[n] = true
	}
	check := func(kind string, names []string, implemented func(string) bool) {
		var impl, byCore, na, missing []string
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			switch {
			case implemented(n):
				impl = append(impl, n)
			case core[n]:
				byCore = append(byCore, n)
			default:
				if r, ok := naReason(n); ok && r != "" {
					na = append(na, n+": "+r)
				} else {
					missing = append(missing, n)
				}
			}
		}
		total := len(seen)
		t.Logf("%s: %d in the manual; implemented %d (%.0f%%), engine keywords not registered yet %d, not applicable or not done %d",
			kind, total, len(impl), 100*float64(len(impl))/float64(total), len(byCore), len(na))
		sort.Strings(na)
		for _, n := range na {
			t.Logf("  n/a %s %s", kind, n)
		}
		for _, n := range missing {
			t.Errorf("%s %q is neither implemented nor listed as provided by core or not applicable", kind, n)
		}
	}
	check("converter", convs, func(n string) bool {
		if n == "map_match" || n == "map_match_output" {
			_, ok := sample.LookupConverter("map_beg_int")
			return ok
		}
		_, ok := sample.LookupConverter(n)
		return ok
	})
	check("fetch", fetches, func(n string) bool {
		_, ok := sample.LookupFetch(n)
		return ok
	})
}
