// Package validate checks a protobuf message at Treue's edges (a gRPC request, a
// consumed event) in one place: its protovalidate rules from the proto, and what every
// string must satisfy to be stored (no NUL byte, which Postgres refuses in text).
package validate

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Violation is one field that breaks a rule.
type Violation struct {
	// Field is the field's path, e.g. "lines[2].sku".
	Field string
	// Reason says what is wrong, for a person.
	Reason string
	// Rule is the rule's id, e.g. "string.max_len".
	Rule string
}

// Error lists every violation of a message.
type Error struct{ Violations []Violation }

func (e *Error) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Validator checks messages; it is safe for concurrent use.
type Validator struct{ pv protovalidate.Validator }

// New returns a Validator.
func New() (*Validator, error) {
	pv, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	return &Validator{pv: pv}, nil
}

// Validate returns nil, or an *Error naming every field that breaks a rule. Any other
// error means the rules themselves could not be evaluated.
func (v *Validator) Validate(msg proto.Message) error {
	return v.validate(msg, true)
}

// ValidateEncoded is Validate for a message just decoded from data: when data cannot
// hold a NUL byte in any string (binary protobuf without a 0x00 byte, JSON without a
// \u0000 escape), the walk over every string is skipped. A consumer validates every
// event, so this is on its hot path.
func (v *Validator) ValidateEncoded(msg proto.Message, data []byte, json bool) error {
	mayHoldNUL := bytes.IndexByte(data, 0) >= 0
	if json {
		mayHoldNUL = mayHoldNUL || bytes.Contains(data, []byte(`\u0000`))
	}
	return v.validate(msg, mayHoldNUL)
}

func (v *Validator) validate(msg proto.Message, nul bool) error {
	var out []Violation
	if err := v.pv.Validate(msg); err != nil {
		var ve *protovalidate.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("validate %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
		}
		for _, x := range ve.Violations {
			out = append(out, Violation{
				Field:  protovalidate.FieldPathString(x.Proto.GetField()),
				Reason: x.Proto.GetMessage(),
				Rule:   x.Proto.GetRuleId(),
			})
		}
	}
	if nul {
		out = append(out, nulStrings(msg.ProtoReflect(), "", nil)...)
	}
	if len(out) > 0 {
		return &Error{Violations: out}
	}
	return nil
}

const nulRule = "string.no_nul"

// nulStrings finds every string in m (nested, repeated and map values too) that holds a
// NUL byte. proto allows it; Postgres text does not, so it is refused at the edge rather
// than failing a write later as if the database were at fault.
func nulStrings(m protoreflect.Message, prefix string, out []Violation) []Violation {
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		// The path is built only for a violation or a nested message: this runs on every
		// field of every event a consumer takes.
		path := func() string { return prefix + string(fd.Name()) }
		switch {
		case fd.IsMap():
			val.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := func() string { return path() + "[" + strconv.Quote(k.String()) + "]" }
				if strings.IndexByte(k.String(), 0) >= 0 {
					out = append(out, Violation{Field: key(), Reason: "key must not contain a NUL byte", Rule: nulRule})
				}
				out = checkValue(fd.MapValue(), mv, key, out)
				return true
			})
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				out = checkValue(fd, l.Get(i), func() string { return path() + "[" + strconv.Itoa(i) + "]" }, out)
			}
		default:
			out = checkValue(fd, val, path, out)
		}
		return true
	})
	return out
}

func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path func() string, out []Violation) []Violation {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.IndexByte(v.String(), 0) >= 0 {
			out = append(out, Violation{Field: path(), Reason: "must not contain a NUL byte", Rule: nulRule})
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		out = nulStrings(v.Message(), path()+".", out)
	}
	return out
}
