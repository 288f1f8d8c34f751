package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// OrgCommands manage teams and staff.
type OrgCommands struct {
	CreateTeam  CreateTeam
	UpdateTeam  UpdateTeam
	SetHolidays SetHolidays
	AddStaff    AddStaff
	UpdateStaff UpdateStaff
	// Assigner picks the assignee of a case a team opens (in the opening transaction).
	Assigner Assigner
}

// OrgQueries read them.
type OrgQueries struct {
	GetTeam   GetTeam
	ListTeams ListTeams
	ListStaff ListStaff
	// TeamOf returns a team by key with its staff (the calendar SLA clocks use).
	TeamOf TeamOf
}

func newOrg(d Deps) (OrgCommands, OrgQueries) {
	return OrgCommands{
			CreateTeam:  CreateTeam{store: d.Store, clock: d.Clock, newID: d.NewID},
			UpdateTeam:  UpdateTeam{store: d.Store, clock: d.Clock},
			SetHolidays: SetHolidays{store: d.Store},
			AddStaff:    AddStaff{store: d.Store, clock: d.Clock, newID: d.NewID},
			UpdateStaff: UpdateStaff{store: d.Store},
		}, OrgQueries{
			GetTeam:   GetTeam{store: d.Store},
			ListTeams: ListTeams{store: d.Store},
			ListStaff: ListStaff{store: d.Store},
			TeamOf:    TeamOf{store: d.Store},
		}
}

// requestHash is a hash of what a create request asks for, so that a retry under the
// same idempotency key can be told from another request.
func requestHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and ints
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
