package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/services/survey/internal/domain"
)

// QRFormat is the image format of a QR code.
type QRFormat string

const (
	QRPNG QRFormat = "PNG"
	QRSVG QRFormat = "SVG"
)

// DefaultQRSize is the side of a PNG QR code in pixels when the caller asks for none.
const DefaultQRSize = 256

// QRCodes draws QR codes.
type QRCodes interface {
	// Encode returns the QR code of content as an image in format (size: the side in
	// pixels) and its media type.
	Encode(content string, format QRFormat, size int) (image []byte, contentType string, err error)
}

// ReceiptTx is what issuing a receipt link needs of a transaction.
type ReceiptTx interface {
	// IssueReceiptInvitation stores inv, the invitation of a receipt, unless an
	// invitation with its trigger key exists (the purchase's own, made by a trigger, or
	// the receipt's, issued before). A scheduled one becomes the receipt's: sent now on
	// the receipt, so that its link works at once and it is never emailed as well. The
	// member is linked only if they are not erased; an empty locale is the member's.
	// It returns the receipt's invitation as stored and whether it is new.
	IssueReceiptInvitation(ctx context.Context, inv domain.Invitation) (domain.Invitation, bool, error)
}

// IssueReceiptLink gives a till the short link and QR code to print on a receipt: one
// invitation, and so one response, per receipt, for anonymous purchases too.
type IssueReceiptLink struct {
	store    Store
	links    *Links
	qr       QRCodes
	surveyID string
	ttl      time.Duration
	now      func() time.Time
}

// IssueReceiptLinkCommand asks for the link of one receipt.
type IssueReceiptLinkCommand struct {
	StoreID       string
	TransactionID string
	MemberID      string // "" for an anonymous purchase
	EmployeeID    string
	SurveyID      string // "" for the default survey
	Locale        string
	Format        QRFormat // "" is PNG
	Size          int      // 0 is DefaultQRSize
}

// ReceiptLink is a receipt's link and its QR code.
type ReceiptLink struct {
	Invitation    domain.Invitation
	URL           string
	QRCode        []byte
	QRContentType string
}

// Handle creates the receipt's invitation, or finds it, and draws its link.
func (h *IssueReceiptLink) Handle(ctx context.Context, cmd IssueReceiptLinkCommand) (ReceiptLink, error) {
	if h.qr == nil {
		return ReceiptLink{}, errors.New("issue receipt link: no QR code renderer configured")
	}
	surveyID := cmd.SurveyID
	if surveyID == "" {
		surveyID = h.surveyID
	}
	format := cmd.Format
	if format == "" {
		format = QRPNG
	}
	size := cmd.Size
	if size <= 0 {
		size = DefaultQRSize
	}
	id, err := uuid.NewV7()
	if err != nil {
		return ReceiptLink{}, err
	}
	// The survey's published version at this moment: a receipt answers it, whatever is
	// published later. domain.ErrSurveyNotFound, ErrSurveyRetired or
	// ErrNoPublishedVersion when there is none.
	version, err := h.store.PublishedVersion(ctx, surveyID)
	if err != nil {
		return ReceiptLink{}, err
	}
	now := h.now().UTC()
	inv := domain.NewReceiptInvitation(id.String(), surveyID, domain.Receipt{
		StoreID: cmd.StoreID, TransactionID: cmd.TransactionID, MemberID: cmd.MemberID,
		EmployeeID: cmd.EmployeeID, Locale: cmd.Locale,
	}, now, h.ttl)
	inv.SurveyVersion = version
	var stored domain.Invitation
	err = h.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		stored, _, err = tx.IssueReceiptInvitation(ctx, inv)
		return err
	})
	if err != nil {
		return ReceiptLink{}, err
	}
	url, err := h.links.ShortURL(stored)
	if err != nil {
		return ReceiptLink{}, err
	}
	img, ctype, err := h.qr.Encode(url, format, size)
	if err != nil {
		return ReceiptLink{}, fmt.Errorf("draw the QR code: %w", err)
	}
	return ReceiptLink{Invitation: stored, URL: url, QRCode: img, QRContentType: ctype}, nil
}
