package earn

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// guard is a test a condition makes among its top-level conjuncts, `purchase.store ==
// "berlin-1"` say, that the engine checks in Go before evaluating the condition: when it
// fails the condition is false (in CEL a conjunction with a false operand is false, whatever
// its other operands give, errors included), so most rules of a programme, which target
// another store, channel, currency or tier, cost a string comparison instead of an
// evaluation.
type guard struct {
	field guardField
	value string
}

type guardField int

const (
	guardStore guardField = iota
	guardChannel
	guardCurrency
	guardTier
)

// guardFields are the fields a guard may test: strings that are always present.
var guardFields = map[[2]string]guardField{
	{"purchase", "store"}:    guardStore,
	{"purchase", "channel"}:  guardChannel,
	{"purchase", "currency"}: guardCurrency,
	{"member", "tier"}:       guardTier,
}

// guardsOf returns the guards among the top-level conjuncts of a checked condition.
func guardsOf(checked *cel.Ast) []guard {
	var out []guard
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		if e.Kind() != ast.CallKind {
			return
		}
		call := e.AsCall()
		args := call.Args()
		switch {
		case call.FunctionName() == operators.LogicalAnd && !call.IsMemberFunction():
			for _, a := range args {
				walk(a)
			}
		case call.FunctionName() == operators.Equals && !call.IsMemberFunction() && len(args) == 2:
			if g, ok := guardOf(args[0], args[1]); ok {
				out = append(out, g)
			} else if g, ok := guardOf(args[1], args[0]); ok {
				out = append(out, g)
			}
		}
	}
	walk(checked.NativeRep().Expr())
	return out
}

// guardOf reads `<variable>.<field> == "<text>"`.
func guardOf(sel, lit ast.Expr) (guard, bool) {
	if sel.Kind() != ast.SelectKind || lit.Kind() != ast.LiteralKind {
		return guard{}, false
	}
	s := sel.AsSelect()
	if s.IsTestOnly() || s.Operand().Kind() != ast.IdentKind {
		return guard{}, false
	}
	f, ok := guardFields[[2]string{s.Operand().AsIdent(), s.FieldName()}]
	if !ok {
		return guard{}, false
	}
	text, ok := lit.AsLiteral().(types.String)
	if !ok {
		return guard{}, false
	}
	return guard{field: f, value: string(text)}, true
}

// pass reports whether the facts pass every guard.
func pass(gs []guard, a *activation) bool {
	for _, g := range gs {
		var v string
		switch {
		case g.field == guardTier && a.member != nil:
			v = a.member.Tier
		case a.purchase == nil || a.member == nil:
			continue // facts the condition does not read here: it decides
		case g.field == guardStore:
			v = a.purchase.Store
		case g.field == guardChannel:
			v = a.purchase.Channel
		case g.field == guardCurrency:
			v = a.purchase.Currency
		}
		if v != g.value {
			return false
		}
	}
	return true
}
