package domain

import "time"

// MemberData is everything the survey holds about one member, for the member's data
// export. After an erasure only the pseudonymous record of it is left (ErasedAt).
type MemberData struct {
	MemberID string
	// Member is the local copy of the member; nil when there is none.
	Member *MemberCopy
	// ErasedAt is when the member was erased; zero if never.
	ErasedAt time.Time
	// Invitations are the member's invitations, newest first; Answered says which have a
	// response.
	Invitations []ExportedInvitation
	// Responses are the member's answers, newest first, with their comments.
	Responses []Response
	// ParkedTriggers are contacts waiting for the member's enrolment.
	ParkedTriggers []Trigger
	// Drafts are answers saved on the way and not submitted yet.
	Drafts []Draft
}

// Draft is the answers to an invitation saved before they were submitted.
type Draft struct {
	InvitationID string
	Answers      Answers
	UpdatedAt    time.Time
}

// MemberCopy is the member as the survey keeps them: what the ledger told it and the
// contact policy's state.
type MemberCopy struct {
	Member
	// LastInvitedAt is the member's last invitation; zero if never.
	LastInvitedAt time.Time
	UpdatedAt     time.Time
}

// ExportedInvitation is an invitation as exported.
type ExportedInvitation struct {
	Invitation
	Answered bool
}

// Empty reports whether the survey holds nothing about the member.
func (d MemberData) Empty() bool {
	return d.Member == nil && d.ErasedAt.IsZero() && len(d.Invitations) == 0 &&
		len(d.Responses) == 0 && len(d.ParkedTriggers) == 0 && len(d.Drafts) == 0
}
