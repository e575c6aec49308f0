package sample

import "fmt"

// ParseArgWords builds the arguments of a fetch or converter called from
// Lua (txn.f:req_fhdr("host"), txn.c:map_str(s, "/etc/f.map")), as
// HAProxy's hlua_lua2arg_check: each word is parsed as the keyword's
// argument type at its position, then the keyword's check runs. Arguments
// naming configuration objects stay unresolved (Ref nil).
func ParseArgWords(keyword string, conv bool, spec ArgSpec, check func([]Arg, *Scope) error, words []string) ([]Arg, error) {
	if len(words) > len(spec.Types) {
		return nil, fmt.Errorf("too many arguments (got %d, at most %d)", len(words), len(spec.Types))
	}
	if len(words) < spec.Min {
		return nil, fmt.Errorf("missing arguments (got %d/%d), type '%s' expected", len(words), spec.Min, spec.Types[len(words)])
	}
	var args []Arg
	if len(words) > 0 {
		args = make([]Arg, len(words))
	}
	for i, w := range words {
		a, err := parseArg(spec.Types[i], w)
		if err != nil {
			return nil, fmt.Errorf("%v at position %d", err, i+1)
		}
		a.Pos, a.Keyword, a.Conv = i+1, keyword, conv
		args[i] = a
	}
	if check != nil {
		if err := check(args, nil); err != nil {
			return nil, err
		}
	}
	return args, nil
}
