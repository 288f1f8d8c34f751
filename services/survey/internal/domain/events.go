package domain

// Event is a change the survey tells the rest of the system about. The application
// decides which events a change causes and hands them to its transaction, which writes
// them to the outbox with the change.
type Event interface{ surveyEvent() }

// InvitationCreated: a member was invited; URL is the link they answer through.
type InvitationCreated struct {
	Invitation Invitation
	URL        string
}

// ResponseSubmitted: a member answered an invitation.
type ResponseSubmitted struct {
	Response Response
}

func (InvitationCreated) surveyEvent() {}
func (ResponseSubmitted) surveyEvent() {}

// InvitationSuppressed: the contact policy held back an invitation.
type InvitationSuppressed struct {
	Suppression Suppression
}

func (InvitationSuppressed) surveyEvent() {}
