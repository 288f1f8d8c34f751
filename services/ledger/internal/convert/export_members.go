package convert

import "github.com/treue/treue/services/ledger/internal/domain"

// exportMemberData is the members' area's part of an export (its fields are inlined).
type exportMemberData struct {
	Identifiers []domain.Identifier    `json:"identifiers"`
	Tags        []string               `json:"tags"`
	Attributes  map[string]string      `json:"attributes"`
	Consents    []domain.ConsentRecord `json:"consents"`
}

func memberDataDoc(x domain.MemberExport) exportMemberData {
	d := exportMemberData{Identifiers: x.Profile.Identifiers, Tags: x.Profile.Tags, Attributes: x.Profile.Attributes, Consents: x.Consents}
	if d.Identifiers == nil {
		d.Identifiers = []domain.Identifier{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.Attributes == nil {
		d.Attributes = map[string]string{}
	}
	if d.Consents == nil {
		d.Consents = []domain.ConsentRecord{}
	}
	return d
}
