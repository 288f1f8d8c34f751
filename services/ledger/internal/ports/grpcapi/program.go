package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/grpcx"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/app"
	"github.com/treue/treue/services/ledger/internal/convert"
	"github.com/treue/treue/services/ledger/internal/domain"
	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

// ReasonVersionConflict: UpdateRule's expected_version is no longer the rule's current.
const ReasonVersionConflict = "VERSION_CONFLICT"

// ProgramServer implements ledgerv1.ProgramServiceServer.
type ProgramServer struct {
	ledgerv1.UnimplementedProgramServiceServer
	app *app.Application
}

// NewProgram returns the server of a's earning rules and campaigns.
func NewProgram(a *app.Application) *ProgramServer { return &ProgramServer{app: a} }

// programStatus maps the errors of rules and campaigns; prefix is the request field
// holding the definition.
func programStatus(err error, prefix string) error {
	var inv *earn.InvalidError
	var ref *domain.Refusal
	switch {
	case errors.As(err, &inv):
		return grpcx.InvalidField(prefix+inv.Field, inv.Reason)
	case errors.As(err, &ref):
		return grpcx.InvalidField(ref.Field, ref.Reason)
	case errors.Is(err, earn.ErrRuleNotFound):
		return status.Error(codes.NotFound, "rule not found")
	case errors.Is(err, earn.ErrCampaignNotFound):
		return status.Error(codes.NotFound, "campaign not found")
	case errors.Is(err, earn.ErrNoBreakdown):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, earn.ErrVersionConflict):
		return grpcx.FailedPrecondition(ReasonVersionConflict, "%s", err.Error())
	}
	return toStatus(err)
}

func (s *ProgramServer) CreateRule(ctx context.Context, req *ledgerv1.CreateRuleRequest) (*ledgerv1.CreateRuleResponse, error) {
	v, err := convert.RuleVersion(req.GetDefinition())
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	r, err := s.app.Commands.Program.CreateRule(ctx, actor(ctx), v, req.GetActivate())
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	return &ledgerv1.CreateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *ProgramServer) UpdateRule(ctx context.Context, req *ledgerv1.UpdateRuleRequest) (*ledgerv1.UpdateRuleResponse, error) {
	v, err := convert.RuleVersion(req.GetDefinition())
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	r, err := s.app.Commands.Program.UpdateRule(ctx, actor(ctx), req.GetRuleId(), v, int(req.GetExpectedVersion()))
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	return &ledgerv1.UpdateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *ProgramServer) ActivateRule(ctx context.Context, req *ledgerv1.ActivateRuleRequest) (*ledgerv1.ActivateRuleResponse, error) {
	r, err := s.app.Commands.Program.SetRuleActive(ctx, actor(ctx), req.GetRuleId(), true)
	if err != nil {
		return nil, programStatus(err, "")
	}
	return &ledgerv1.ActivateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *ProgramServer) DeactivateRule(ctx context.Context, req *ledgerv1.DeactivateRuleRequest) (*ledgerv1.DeactivateRuleResponse, error) {
	r, err := s.app.Commands.Program.SetRuleActive(ctx, actor(ctx), req.GetRuleId(), false)
	if err != nil {
		return nil, programStatus(err, "")
	}
	return &ledgerv1.DeactivateRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *ProgramServer) GetRule(ctx context.Context, req *ledgerv1.GetRuleRequest) (*ledgerv1.GetRuleResponse, error) {
	r, err := s.app.Queries.Program.Rule(ctx, req.GetRuleId(), int(req.GetVersion()))
	if err != nil {
		return nil, programStatus(err, "")
	}
	return &ledgerv1.GetRuleResponse{Rule: convert.Rule(r)}, nil
}

func (s *ProgramServer) ListRules(ctx context.Context, req *ledgerv1.ListRulesRequest) (*ledgerv1.ListRulesResponse, error) {
	if t := req.GetPageToken(); t != "" {
		if _, ok := domain.CanonicalUUID(t); !ok {
			return nil, grpcx.InvalidField("page_token", "not a token this service returned")
		}
	}
	rs, next, err := s.app.Queries.Program.Rules(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, programStatus(err, "")
	}
	return convert.Rules(rs, next), nil
}

func (s *ProgramServer) CreateCampaign(ctx context.Context, req *ledgerv1.CreateCampaignRequest) (*ledgerv1.CreateCampaignResponse, error) {
	c, err := s.app.Commands.Program.CreateCampaign(ctx, actor(ctx), convert.CampaignOf("", req.GetDefinition()))
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	return &ledgerv1.CreateCampaignResponse{Campaign: convert.Campaign(c)}, nil
}

func (s *ProgramServer) UpdateCampaign(ctx context.Context, req *ledgerv1.UpdateCampaignRequest) (*ledgerv1.UpdateCampaignResponse, error) {
	c, err := s.app.Commands.Program.UpdateCampaign(ctx, actor(ctx), convert.CampaignOf(req.GetCampaignId(), req.GetDefinition()))
	if err != nil {
		return nil, programStatus(err, "definition.")
	}
	return &ledgerv1.UpdateCampaignResponse{Campaign: convert.Campaign(c)}, nil
}

func (s *ProgramServer) GetCampaign(ctx context.Context, req *ledgerv1.GetCampaignRequest) (*ledgerv1.GetCampaignResponse, error) {
	c, err := s.app.Queries.Program.Campaign(ctx, req.GetCampaignId())
	if err != nil {
		return nil, programStatus(err, "")
	}
	return &ledgerv1.GetCampaignResponse{Campaign: convert.Campaign(c)}, nil
}

func (s *ProgramServer) ListCampaigns(ctx context.Context, req *ledgerv1.ListCampaignsRequest) (*ledgerv1.ListCampaignsResponse, error) {
	if t := req.GetPageToken(); t != "" {
		if _, ok := domain.CanonicalUUID(t); !ok {
			return nil, grpcx.InvalidField("page_token", "not a token this service returned")
		}
	}
	cs, next, err := s.app.Queries.Program.Campaigns(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, programStatus(err, "")
	}
	return convert.Campaigns(cs, next), nil
}

func (s *ProgramServer) SimulatePurchase(ctx context.Context, req *ledgerv1.SimulatePurchaseRequest) (*ledgerv1.SimulatePurchaseResponse, error) {
	var drafts []earn.RuleVersion
	if d := req.GetDraft(); d != nil {
		v, err := convert.RuleVersion(d)
		if err != nil {
			return nil, programStatus(err, "draft.")
		}
		v.RuleID, v.Version = "draft", 0
		if id := req.GetDraftRuleId(); id != "" {
			canon, ok := domain.CanonicalUUID(id)
			if !ok {
				return nil, grpcx.InvalidField("draft_rule_id", "not a rule id")
			}
			v.RuleID = canon
		}
		drafts = append(drafts, v)
	}
	x, err := s.app.Queries.Program.SimulatePurchase(ctx, convert.SimulatedPurchase(req), drafts...)
	if err != nil {
		return nil, programStatus(err, "draft.")
	}
	return &ledgerv1.SimulatePurchaseResponse{Explanation: convert.Explanation(x)}, nil
}

func (s *ProgramServer) ExplainTransaction(ctx context.Context, req *ledgerv1.ExplainTransactionRequest) (*ledgerv1.ExplainTransactionResponse, error) {
	x, ref, err := s.app.Queries.Program.ExplainTransaction(ctx, req.GetTransactionId())
	if err != nil {
		return nil, programStatus(err, "")
	}
	return &ledgerv1.ExplainTransactionResponse{TransactionId: req.GetTransactionId(), Reference: ref, Explanation: convert.Explanation(x)}, nil
}
