package bus

import (
	"fmt"
	"slices"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CheckContracts holds the services' contracts against each other and returns every
// breach: an event consumed that no service produces (unless the contract marks it as
// published by the retailer's systems), an event produced by two services, or an event
// produced without validation rules on its fields.
func CheckContracts(cs []Contract) []error {
	var errs []error
	producer := map[protoreflect.FullName]string{}
	for _, c := range cs {
		for _, p := range c.Produces {
			if other, dup := producer[p.Type]; dup {
				errs = append(errs, fmt.Errorf("%s is produced by both %s and %s", p.Type, other, c.Service))
			}
			producer[p.Type] = c.Service
			if p.External {
				errs = append(errs, fmt.Errorf("%s produces %s, which the contract says the retailer's systems publish", c.Service, p.Type))
			}
			if missing := unruledFields(p); len(missing) > 0 {
				errs = append(errs, fmt.Errorf("%s produces %s, whose fields %v carry no validation rules", c.Service, p.Type, missing))
			}
		}
	}
	for _, c := range cs {
		for _, s := range c.Consumes {
			if _, ok := producer[s.Type]; !ok && !s.External {
				errs = append(errs, fmt.Errorf("%s consumes %s on %s, which no service produces", c.Service, s.Type, s.Filter()))
			}
		}
	}
	return errs
}

// unruledFields lists the fields of an event message without a protovalidate rule. A
// bool needs none (both values are valid) and a nested message is checked by its own
// fields' rules.
func unruledFields(s EventSpec) []string {
	var missing []string
	fields := s.Desc.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Kind() == protoreflect.BoolKind {
			continue
		}
		rules, err := protovalidate.ResolveFieldRules(fd)
		if err != nil || rules == nil || proto.Size(rules) == 0 {
			missing = append(missing, string(fd.Name()))
		}
	}
	slices.Sort(missing)
	return missing
}
