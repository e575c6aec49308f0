package config

// Release types of a version, in increasing order of maturity.
const (
	versionDev = iota + 1
	versionRC
	versionRelease
)

// splitVersion parses a version in "haproxy -v" syntax,
// <a>[.<b>[.<c>[.<d>]]][-dev<n>|-rc<n>][-<commit>], into its 7 numbers as
// HAProxy's split_version() does: missing parts are zero and a version
// without a tag is a release, newer than its -dev and -rc versions.
func splitVersion(v string) (elts [7]uint64, ok bool) {
	elts[4] = versionRelease
	if v == "" {
		return elts, false
	}
	i := 0
	// number reads digits like strtol(): none is a zero.
	number := func() uint64 {
		var n uint64
		for i < len(v) && isDigit(v[i]) {
			n = n*10 + uint64(v[i]-'0')
			i++
		}
		return n
	}
	// next consumes the separator after a number: true to go on with the
	// next dotted number, false at the end, and tag when a '-' follows.
	var tag bool
	next := func() (more, ok bool) {
		switch {
		case i >= len(v):
			return false, true
		case v[i] == '.':
			i++
			return true, true
		case v[i] == '-':
			i++
			tag = true
			return false, true
		}
		return false, false
	}

	for k := 0; k < 4; k++ {
		elts[k] = number()
		more, ok := next()
		if !ok || (k == 3 && more) {
			return elts, false
		}
		if !more {
			break
		}
	}
	if !tag {
		return elts, true
	}

	if i >= len(v) || !isDigit(v[i]) {
		switch {
		case len(v) >= i+3 && v[i:i+3] == "dev":
			elts[4] = versionDev
			i += 3
		case len(v) >= i+2 && v[i:i+2] == "rc":
			elts[4] = versionRC
			i += 2
		default:
			return elts, false
		}
		elts[5] = number()
		if i >= len(v) {
			return elts, true
		}
		if v[i] != '-' {
			return elts, false
		}
		i++
	}
	elts[6] = number()
	if i < len(v) && v[i] != '-' {
		return elts, false
	}
	return elts, true
}

// compareCurrentVersion compares v with Version: negative when v is older,
// zero when equal, positive when v is newer.
func compareCurrentVersion(v string) int {
	cur, ok1 := splitVersion(Version)
	other, ok2 := splitVersion(v)
	if !ok1 || !ok2 {
		// HAProxy compat: an unparsable version compares as older, so
		// version_atleast() is true and version_before() false.
		return -1
	}
	for k := range cur {
		switch {
		case other[k] < cur[k]:
			return -1
		case other[k] > cur[k]:
			return 1
		}
	}
	return 0
}
