package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/app"
)

// ToIssueReceiptLinkCommand reads a till's request for a receipt link.
func ToIssueReceiptLinkCommand(req *surveyv1.IssueReceiptLinkRequest) app.IssueReceiptLinkCommand {
	format := app.QRPNG
	if req.GetFormat() == surveyv1.QrFormat_QR_FORMAT_SVG {
		format = app.QRSVG
	}
	return app.IssueReceiptLinkCommand{
		StoreID:       req.GetStoreId(),
		TransactionID: req.GetTransactionId(),
		MemberID:      req.GetMemberId(),
		EmployeeID:    req.GetEmployeeId(),
		SurveyID:      req.GetSurveyId(),
		Locale:        req.GetLocale(),
		Format:        format,
		Size:          int(req.GetSize()),
	}
}

// ToIssueReceiptLinkResponse is the link and QR code to print.
func ToIssueReceiptLinkResponse(l app.ReceiptLink) *surveyv1.IssueReceiptLinkResponse {
	return &surveyv1.IssueReceiptLinkResponse{
		InvitationId:  l.Invitation.ID,
		Url:           l.URL,
		QrCode:        l.QRCode,
		QrContentType: l.QRContentType,
		ExpiresAt:     timestamppb.New(l.Invitation.ExpiresAt),
	}
}
