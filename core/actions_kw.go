package core

import (
	"fmt"
	"strings"

	"luaproxy/core/config"
)

// The action keywords of each rule set, as HAProxy 2.6.12 knows them. An
// unknown keyword is reported as HAProxy does, listing the keywords in
// HAProxy's order, but only those luaproxy implements; a keyword HAProxy
// knows and luaproxy does not is reported as not supported. Keywords
// registered by extensions (Lua's "lua.<name>", test actions) are outside
// these lists and go to their parsers.

// haproxyActions lists, per rule set, HAProxy's action keywords in the
// order of its "expects ..." message (keyword lists in registration
// order). A "(*)" suffix marks a keyword matched as a prefix
// ("set-var(*)" matches "set-var(txn.x)"); for the tcp rule sets, the
// first words are those HAProxy's message writes before the list.
var haproxyActions = map[RuleSet][]string{
	HTTPRequest: strings.Fields(`wait-for-handshake ot-group set-log-level set-nice use-service
		sc-inc-gpc(*) sc-inc-gpc0(*) sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*) send-spoe-group
		do-resolve(*) cache-use add-acl(*) add-header allow auth capture del-acl(*) del-header
		del-map(*) deny disable-l7-retry early-hint normalize-uri redirect reject replace-header
		replace-path replace-pathq replace-uri replace-value return set-header set-map(*) set-method
		set-path set-pathq set-query set-uri strict-mode tarpit track-sc(*) set-timeout
		wait-for-body set-var-fmt(*) set-var(*) unset-var(*) set-dst set-dst-port set-mark set-src
		set-src-port set-tos silent-drop set-priority-class set-priority-offset`),
	HTTPResponse: strings.Fields(`ot-group set-log-level set-nice sc-inc-gpc(*) sc-inc-gpc0(*)
		sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*) send-spoe-group cache-store add-acl(*)
		add-header allow capture del-acl(*) del-header del-map(*) deny redirect replace-header
		replace-value return set-header set-map(*) set-status strict-mode track-sc(*)
		wait-for-body set-var-fmt(*) set-var(*) unset-var(*) set-mark set-tos silent-drop`),
	HTTPAfterResponse: strings.Fields(`ot-group add-header allow capture del-header
		replace-header replace-value set-header set-status strict-mode set-var-fmt(*) set-var(*)
		unset-var(*)`),
	TCPRequestConnection: strings.Fields(`accept reject capture expect-proxy expect-netscaler-cip
		track-sc(*) sc-inc-gpc(*) sc-inc-gpc0(*) sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*)
		set-var-fmt(*) set-var(*) unset-var(*) set-dst set-dst-port set-mark set-src set-src-port
		set-tos silent-drop`),
	tcpRequestSession: strings.Fields(`accept reject capture expect-proxy expect-netscaler-cip
		track-sc(*) sc-inc-gpc(*) sc-inc-gpc0(*) sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*)
		set-var-fmt(*) set-var(*) unset-var(*) set-dst set-dst-port set-mark set-src set-src-port
		set-tos silent-drop`),
	TCPRequestContent: strings.Fields(`accept reject capture expect-proxy expect-netscaler-cip
		track-sc(*) ot-group set-log-level set-nice switch-mode use-service sc-inc-gpc(*)
		sc-inc-gpc0(*) sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*) send-spoe-group do-resolve(*)
		set-var-fmt(*) set-var(*) unset-var(*) set-src set-src-port set-dst set-dst-port set-mark
		set-tos silent-drop set-priority-class set-priority-offset`),
	TCPResponseContent: strings.Fields(`accept close reject ot-group set-log-level set-nice
		sc-inc-gpc(*) sc-inc-gpc0(*) sc-inc-gpc1(*) sc-set-gpt(*) sc-set-gpt0(*) send-spoe-group
		set-var-fmt(*) set-var(*) unset-var(*) set-mark set-tos silent-drop`),
}

// tcpActionsFixed is how many keywords of a tcp rule set HAProxy writes
// before its keyword list (they are parsed by tcp_rules.c itself).
var tcpActionsFixed = map[RuleSet]int{
	TCPRequestConnection: 6, tcpRequestSession: 6, TCPRequestContent: 6, TCPResponseContent: 3,
}

// unsupportedActions are the HAProxy keywords luaproxy does not implement.
var unsupportedActions = map[string]bool{}

func init() {
	for _, kw := range strings.Fields(`wait-for-handshake ot-group set-nice send-spoe-group
		do-resolve(*) cache-use cache-store add-acl(*) del-acl(*) del-map(*) disable-l7-retry
		early-hint normalize-uri set-map(*) strict-mode set-timeout set-mark set-tos silent-drop
		set-priority-class set-priority-offset expect-proxy expect-netscaler-cip switch-mode`) {
		unsupportedActions[kw] = true
	}
}

// haproxyAction returns the entry of rs's list matching kw, HAProxy's
// way: the first entry equal to kw, or a prefix of kw for "(*)" ones.
func haproxyAction(rs RuleSet, kw string) (string, bool) {
	for _, k := range haproxyActions[rs] {
		if p, ok := strings.CutSuffix(k, "(*)"); ok && strings.HasPrefix(kw, p) || k == kw {
			return k, true
		}
	}
	return "", false
}

// checkActionKeyword reports an action keyword that HAProxy does not know
// in rule set rs (and no extension registered) or that luaproxy does not
// implement; nil lets the keyword's parser run.
func checkActionKeyword(px *Proxy, rs RuleSet, kw string, l config.Line) error {
	k, ok := haproxyAction(rs, kw)
	if !ok {
		if _, ext := lookupAction(kw); ext && kw != "" {
			return nil
		}
		return unknownActionError(px, rs, kw, l)
	}
	if unsupportedActions[k] {
		return ruleErrorf(px, rs, kw, l, "action '%s' is not supported by luaproxy", strings.TrimSuffix(k, "(*)"))
	}
	return nil
}

// pxType names px as HAProxy's proxy_type_str does in rule messages: a
// listen section is a "proxy".
func pxType(px *Proxy) string {
	if px.Kind == "listen" {
		return fmt.Sprintf("proxy '%s'", px.Name)
	}
	return px.String()
}

// unknownActionError is HAProxy's message for an unknown (or missing, kw
// "") action keyword, listing those luaproxy implements.
func unknownActionError(px *Proxy, rs RuleSet, kw string, l config.Line) error {
	var b strings.Builder
	fixed := tcpActionsFixed[rs]
	for i, k := range haproxyActions[rs] {
		if unsupportedActions[k] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if i < fixed && k == "track-sc(*)" {
			b.WriteString("'track-sc0' ... 'track-sc2'")
			continue
		}
		b.WriteString("'" + k + "'")
	}
	hint := ""
	if best := suggestAction(rs, kw); best != "" {
		hint = " Did you mean '" + best + "' maybe ?"
	}
	if fixed > 0 {
		return l.Errorf("'%s' expects %s in %s (got '%s').%s", rs, b.String(), pxType(px), kw, hint)
	}
	missing := ""
	if kw == "" {
		missing = " (missing argument)"
	}
	return l.TightErrorf("'%s' expects %s, but got '%s'%s.%s", rs, b.String(), kw, missing, hint)
}

// suggestAction is HAProxy's action_suggest: the keyword of rs closest to
// kw by word fingerprint (the registered keywords, then those tcp rules
// parse themselves), unless their distance exceeds twice the length of
// either (three times for a keyword matched by prefix); "" for none.
// Keywords luaproxy does not implement are suggested too, as HAProxy
// does.
func suggestAction(rs RuleSet, kw string) string {
	list := haproxyActions[rs]
	fixed := tcpActionsFixed[rs]
	type cand struct {
		kw     string
		prefix bool
	}
	var cands []cand
	for _, k := range list[fixed:] {
		p, ok := strings.CutSuffix(k, "(*)")
		cands = append(cands, cand{p, ok})
	}
	// the fixed words, in the order of tcp_rules.c's suggestion list
	for _, k := range list[:fixed] {
		if k == "track-sc(*)" {
			continue
		}
		if k == "expect-proxy" {
			cands = append(cands, cand{"track-sc", false})
		}
		cands = append(cands, cand{k, false})
	}
	sig := wordFingerprint(kw)
	best, bestDist := cand{}, -1
	for _, c := range cands {
		d := fingerprintDistance(sig, wordFingerprint(c.kw))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	tol := 2
	if best.prefix {
		tol = 3
	}
	if bestDist < 0 || bestDist > tol*len(kw) || bestDist > tol*len(best.kw) {
		return ""
	}
	return best.kw
}

// wordFingerprint is HAProxy's make_word_fingerprint: how often each
// pair of successive character classes occurs (a letter, a digit,
// anything else; the word's ends count as "anything else"), row 0
// marking the classes present.
func wordFingerprint(w string) *[1024]uint8 {
	var fp [1024]uint8
	class := func(c byte) int {
		switch {
		case c >= 'a' && c <= 'z':
			return int(c-'a') + 1
		case c >= 'A' && c <= 'Z':
			return int(c-'A') + 1
		case c >= '0' && c <= '9':
			return 27
		}
		return 28
	}
	from := 28
	for i := 0; i < len(w); i++ {
		to := class(w[i])
		fp[to] = 1
		fp[from*32+to]++
		from = to
	}
	fp[from*32+28]++
	return &fp
}

// fingerprintDistance is HAProxy's word_fingerprint_distance.
func fingerprintDistance(a, b *[1024]uint8) int {
	d := 0
	for i := range a {
		k := int(a[i]) - int(b[i])
		if k < 0 {
			k = -k
		}
		d += k
	}
	return d
}
