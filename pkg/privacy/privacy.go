// Package privacy serves treue.privacy.v1.PrivacyService, which every service offers for
// the data it holds itself. A service brings its ExportMember query and the converter
// that turns the query's answer into the export's JSON; the answer's frame (which
// service, which member, when) is filled here, the same way for all of them.
package privacy

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
)

// Server answers ExportMember for one service.
type Server struct {
	privacyv1.UnimplementedPrivacyServiceServer
	service string
	export  func(ctx context.Context, memberID string) (*structpb.Struct, error)
}

// NewServer returns the privacy server of service: query gathers what the service holds
// about a member (nothing, for a member it does not know, is an answer, not an error) and
// convert turns it into the export's data. An error of either is returned as it is: a
// status error reaches the caller, anything else is logged and hidden by pkg/grpcx.
func NewServer[T any](service string, query func(ctx context.Context, memberID string) (T, error), convert func(T) (*structpb.Struct, error)) *Server {
	return &Server{service: service, export: func(ctx context.Context, memberID string) (*structpb.Struct, error) {
		x, err := query(ctx, memberID)
		if err != nil {
			return nil, err
		}
		return convert(x)
	}}
}

// ExportMember answers with everything the service holds about the member. exported_at
// is taken before the query reads: whatever was committed before it is in the export.
func (s *Server) ExportMember(ctx context.Context, req *privacyv1.ExportMemberRequest) (*privacyv1.ExportMemberResponse, error) {
	at := time.Now()
	data, err := s.export(ctx, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return &privacyv1.ExportMemberResponse{
		Service:    s.service,
		MemberId:   req.GetMemberId(),
		Data:       data,
		ExportedAt: timestamppb.New(at),
	}, nil
}

// Data is v as an export's data, through encoding/json: v's struct tags name the fields,
// and what JSON leaves out (omitempty) the export leaves out.
func Data(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	return structpb.NewStruct(fields)
}
