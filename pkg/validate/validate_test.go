package validate

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
)

func TestValidate(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	good := func() *posv1.PurchaseRecorded {
		return &posv1.PurchaseRecorded{
			EventId: "0192f1f4-6d3a-7c4e-9a53-3c1d2f7e9b10", StoreId: "S1", TransactionId: "T1",
			OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 100,
			Lines: []*posv1.Line{{Sku: "A", Quantity: 1, AmountMinor: 100}},
		}
	}
	tests := []struct {
		name   string
		change func(*posv1.PurchaseRecorded)
		fields []string
	}{
		{"valid", func(*posv1.PurchaseRecorded) {}, nil},
		{"rule from the proto", func(p *posv1.PurchaseRecorded) { p.Currency = "eur" }, []string{"currency"}},
		{"NUL in a field", func(p *posv1.PurchaseRecorded) { p.TransactionId = "T\x001" }, []string{"transaction_id"}},
		{"NUL in a nested list", func(p *posv1.PurchaseRecorded) { p.Lines[0].Description = "a\x00" }, []string{"lines[0].description"}},
		{"both", func(p *posv1.PurchaseRecorded) { p.Currency = "x"; p.MemberId = "\x00" }, []string{"currency", "member_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.change(p)
			err := v.Validate(p)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want *Error", err)
			}
			var got []string
			for _, x := range ve.Violations {
				got = append(got, x.Field)
			}
			if len(got) != len(tt.fields) {
				t.Fatalf("fields = %v, want %v", got, tt.fields)
			}
			for i := range got {
				if got[i] != tt.fields[i] {
					t.Fatalf("fields = %v, want %v", got, tt.fields)
				}
			}
		})
	}
}

// The shortcut for encoded messages finds every NUL the full walk finds.
func TestValidateEncodedFindsNULInBothEncodings(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p := &posv1.PurchaseRecorded{EventId: "0192f1f4-6d3a-7c4e-9a53-3c1d2f7e9b10", StoreId: "S1", TransactionId: "T\x001",
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 100}
	bin, _ := proto.Marshal(p)
	js, _ := protojson.Marshal(p)
	if err := v.ValidateEncoded(p, bin, false); err == nil {
		t.Error("binary: NUL not found")
	}
	if err := v.ValidateEncoded(p, js, true); err == nil {
		t.Errorf("JSON %s: NUL not found", js)
	}
	p.TransactionId = "T1"
	bin, _ = proto.Marshal(p)
	if err := v.ValidateEncoded(p, bin, false); err != nil {
		t.Errorf("valid binary: %v", err)
	}
}

// BenchmarkValidateEncoded is what a consumer pays per POS event to check it: the
// contract's rules, and the NUL walk only when the bytes could hold one.
func BenchmarkValidateEncoded(b *testing.B) {
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	p := &posv1.PurchaseRecorded{EventId: "0192f1f4-6d3a-7c4e-9a53-3c1d2f7e9b10", StoreId: "berlin-01", TransactionId: "T-000001",
		MemberId: "0192f1f4-6d3a-7c4e-9a53-3c1d2f7e9b11", OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 4250,
		Lines: []*posv1.Line{{Sku: "COF-250", Description: "Coffee", Quantity: 2, AmountMinor: 1798}, {Sku: "GRN-1K", Quantity: 1, AmountMinor: 2452}}}
	data, _ := proto.Marshal(p)
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"encoded", func() error { return v.ValidateEncoded(p, data, false) }},
		{"full walk", func() error { return v.Validate(p) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
