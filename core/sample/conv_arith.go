package sample

import (
	"fmt"
	"math"
)

// Arithmetic and bitwise converters (manual 7.3.1: add, sub, mul, div, mod,
// neg, and, or, xor, cpl, bool, not, odd, even). Their operand is an
// integer or a variable name.

func init() {
	op := func(name string, fn func(a, b int64) int64) *Converter {
		return &Converter{Name: name, Args: Args(1, ArgStr), Check: checkOperand, In: TypeSInt, Out: TypeSInt,
			Fn: func(ctx *Ctx, args []Arg, in Sample) (Sample, bool) {
				b, ok := operand(ctx, &args[0])
				if !ok {
					return Sample{}, false
				}
				return Int(fn(in.Int, b)), true
			}}
	}
	unary := func(name string, out Type, fn func(a int64) int64) *Converter {
		return &Converter{Name: name, In: TypeSInt, Out: out,
			Fn: func(ctx *Ctx, args []Arg, in Sample) (Sample, bool) {
				return Sample{Type: out, Int: fn(in.Int)}, true
			}}
	}
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	registerConverters(
		op("add", arithAdd),
		op("sub", arithSub),
		op("mul", arithMul),
		op("div", arithDiv),
		op("mod", arithMod),
		op("and", func(a, b int64) int64 { return a & b }),
		op("or", func(a, b int64) int64 { return a | b }),
		op("xor", func(a, b int64) int64 { return a ^ b }),
		unary("neg", TypeSInt, func(a int64) int64 {
			if a == math.MinInt64 {
				return math.MaxInt64
			}
			return -a
		}),
		unary("cpl", TypeSInt, func(a int64) int64 { return ^a }),
		unary("bool", TypeBool, func(a int64) int64 { return b2i(a != 0) }),
		unary("not", TypeBool, func(a int64) int64 { return b2i(a == 0) }),
		unary("odd", TypeBool, func(a int64) int64 { return a & 1 }),
		unary("even", TypeBool, func(a int64) int64 { return b2i(a&1 == 0) }),
	)
}

// checkOperand turns the operand into an integer or a variable (HAProxy's
// check_operator): an empty operand is 0.
func checkOperand(args []Arg, sc *Scope) error {
	a := &args[0]
	if v, ok := strictInt(a.Str); ok || a.Str == "" {
		a.Type, a.Int = ArgSInt, v
		return nil
	}
	v, err := ParseVarName(a.Str)
	if err != nil {
		return fmt.Errorf("expects an integer or a variable name")
	}
	a.Type, a.Var = ArgVar, v
	return nil
}

// operand returns the integer value of an operand argument.
func operand(ctx *Ctx, a *Arg) (int64, bool) {
	if a.Type == ArgSInt {
		return a.Int, true
	}
	s, ok := ctx.GetVar(a.Var)
	if !ok || !Convert(&s, TypeSInt) {
		return 0, false
	}
	return s.Int, true
}

// arithAdd adds with saturation, as HAProxy's arith_add.
func arithAdd(a, b int64) int64 {
	if (a ^ b) >= 0 { // same signs: may overflow
		if a < 0 {
			if math.MinInt64-a > b {
				return math.MinInt64
			}
		} else if math.MaxInt64-a < b {
			return math.MaxInt64
		}
	}
	return a + b
}

func arithSub(a, b int64) int64 {
	if b == math.MinInt64 {
		// -b does not exist: a - MIN = a + MAX + 1
		if a < 0 {
			return a - b
		}
		return math.MaxInt64
	}
	return arithAdd(a, -b)
}

func arithMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a == math.MinInt64 && b == -1 || a == -1 && b == math.MinInt64 {
		return math.MaxInt64
	}
	c := a * b
	if c/b != a {
		if (a ^ b) < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return c
}

func arithDiv(a, b int64) int64 {
	if b == 0 {
		return math.MaxInt64
	}
	if a == math.MinInt64 && b == -1 {
		return math.MaxInt64
	}
	return a / b
}

func arithMod(a, b int64) int64 {
	if b == 0 || a == math.MinInt64 && b == -1 {
		return 0
	}
	return a % b
}
