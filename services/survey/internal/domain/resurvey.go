package domain

import "time"

// CaseKeyPrefix starts the touchpoint key of a resolved feedback case: case:<case id>.
// The invitation and the response carry the key, so the answer names the case (the
// feedback service links it to the case instead of opening another).
const CaseKeyPrefix = "case:"

// CaseResolvedTrigger is the touchpoint of a feedback case resolved for a member, keyed
// by the case: a case resolved again (its event delivered twice, say) is one touchpoint.
func CaseResolvedTrigger(eventID, caseID, memberID string, at time.Time) Trigger {
	t := ContactTrigger(eventID, memberID, TouchpointCaseResolved, "", at)
	t.Key = CaseKeyPrefix + caseID
	return t
}
