package earn

import (
	"time"

	"cel.dev/cel-go/common/types"
)

// factsProvider is the CEL type provider of the facts with typed reads of their fields.
// The native types' reads go through reflection and allocate twice per field read
// (the reflected value, then its CEL value): with every rule reading the purchase, that
// was most of what evaluating a rule cost. Types and everything else are the native
// types' own.
type factsProvider struct{ types.Provider }

func (p factsProvider) FindStructFieldType(structType, fieldName string) (*types.FieldType, bool) {
	ft, ok := p.Provider.FindStructFieldType(structType, fieldName)
	read := fieldReads[structType+"."+fieldName]
	if !ok || read == nil || ft.GetFrom == nil {
		return ft, ok
	}
	reflected := ft.GetFrom
	typed := *ft
	typed.GetFrom = func(obj any) (any, error) {
		if v, ok := read(obj); ok {
			return v, nil
		}
		return reflected(obj) // an object of another shape: a nil pointer, say
	}
	return &typed, true
}

// reader reads a field of T, given as T or *T. Scalars are returned as the CEL values the
// reflected read would have been converted to; lists, maps and times as the Go values the
// reflected read returns, converted by the caller as before.
func reader[T any](read func(*T) any) func(any) (any, bool) {
	return func(obj any) (any, bool) {
		switch f := obj.(type) {
		case *T:
			if f != nil {
				return read(f), true
			}
		case T:
			return read(&f), true
		}
		return nil, false
	}
}

// timeField is a time as the reflected read gives it: the zero time reads as the Unix
// epoch.
func timeField(t time.Time) any {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t
}

// fieldReads are the typed reads by "<CEL type>.<field>"; a field missing here is read by
// reflection (TestFieldReadsMatchReflection keeps the two in step).
var fieldReads = map[string]func(any) (any, bool){
	"earn.PurchaseFacts.lines":       reader(func(f *PurchaseFacts) any { return f.Lines }),
	"earn.PurchaseFacts.store":       reader(func(f *PurchaseFacts) any { return types.String(f.Store) }),
	"earn.PurchaseFacts.channel":     reader(func(f *PurchaseFacts) any { return types.String(f.Channel) }),
	"earn.PurchaseFacts.total":       reader(func(f *PurchaseFacts) any { return types.Double(f.Total) }),
	"earn.PurchaseFacts.total_minor": reader(func(f *PurchaseFacts) any { return types.Int(f.TotalMinor) }),
	"earn.PurchaseFacts.currency":    reader(func(f *PurchaseFacts) any { return types.String(f.Currency) }),
	"earn.PurchaseFacts.at":          reader(func(f *PurchaseFacts) any { return timeField(f.At) }),
	"earn.PurchaseFacts.weekday":     reader(func(f *PurchaseFacts) any { return types.String(f.Weekday) }),
	"earn.PurchaseFacts.hour":        reader(func(f *PurchaseFacts) any { return types.Int(f.Hour) }),

	"earn.LineFacts.sku":          reader(func(f *LineFacts) any { return types.String(f.SKU) }),
	"earn.LineFacts.category":     reader(func(f *LineFacts) any { return types.String(f.Category) }),
	"earn.LineFacts.brand":        reader(func(f *LineFacts) any { return types.String(f.Brand) }),
	"earn.LineFacts.quantity":     reader(func(f *LineFacts) any { return types.Int(f.Quantity) }),
	"earn.LineFacts.amount":       reader(func(f *LineFacts) any { return types.Double(f.Amount) }),
	"earn.LineFacts.amount_minor": reader(func(f *LineFacts) any { return types.Int(f.AmountMinor) }),

	"earn.MemberFacts.tier":       reader(func(f *MemberFacts) any { return types.String(f.Tier) }),
	"earn.MemberFacts.tags":       reader(func(f *MemberFacts) any { return f.Tags }),
	"earn.MemberFacts.attributes": reader(func(f *MemberFacts) any { return f.Attributes }),

	"earn.EventFacts.type":       reader(func(f *EventFacts) any { return types.String(f.Type) }),
	"earn.EventFacts.source":     reader(func(f *EventFacts) any { return types.String(f.Source) }),
	"earn.EventFacts.attributes": reader(func(f *EventFacts) any { return f.Attributes }),
	"earn.EventFacts.at":         reader(func(f *EventFacts) any { return timeField(f.At) }),
}
