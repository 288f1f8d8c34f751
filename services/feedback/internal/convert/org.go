package convert

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

var assignments = map[feedbackv1.AssignmentStrategy]domain.AssignmentStrategy{
	feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_UNSPECIFIED: domain.AssignRoundRobin,
	feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN: domain.AssignRoundRobin,
	feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN: domain.AssignFewestOpen,
}

var roles = map[feedbackv1.StaffRole]domain.Role{
	feedbackv1.StaffRole_STAFF_ROLE_AGENT:     domain.RoleAgent,
	feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD: domain.RoleTeamLead,
	feedbackv1.StaffRole_STAFF_ROLE_MANAGER:   domain.RoleManager,
}

func invalid(field, format string, args ...any) error {
	return &domain.FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: domain.ErrInvalidTeam}
}

// Location reads an IANA time zone ("" is UTC) or returns a *domain.FieldError on
// time_zone.
func Location(zone string) (*time.Location, error) {
	if zone == "" {
		return time.UTC, nil
	}
	if zone == "Local" {
		return nil, invalid("time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, invalid("time_zone", "unknown time zone %q (an IANA zone such as Europe/Berlin)", zone)
	}
	return loc, nil
}

// Hours reads business hours (nil is 24x7); bad times are a *domain.FieldError
// naming the span ("hours.monday[1].end"). Overlaps are the domain's to find.
func Hours(h *feedbackv1.BusinessHours) ([7][]domain.Span, error) {
	if h == nil {
		return domain.Always().Hours, nil
	}
	days := [7][]*feedbackv1.Span{h.GetSunday(), h.GetMonday(), h.GetTuesday(), h.GetWednesday(), h.GetThursday(), h.GetFriday(), h.GetSaturday()}
	var out [7][]domain.Span
	for wd, spans := range days {
		for i, s := range spans {
			field := fmt.Sprintf("hours.%s[%d]", domain.WeekdayField(time.Weekday(wd)), i)
			start, err := domain.ParseHHMM(s.GetStart())
			if err != nil {
				return out, invalid(field+".start", "%v", err)
			}
			end, err := domain.ParseHHMM(s.GetEnd())
			if err != nil {
				return out, invalid(field+".end", "%v", err)
			}
			out[wd] = append(out[wd], domain.Span{Start: start, End: end})
		}
	}
	return out, nil
}

// CreateTeamCommand reads a request; scopedKey is the caller's idempotency key.
func CreateTeamCommand(req *feedbackv1.CreateTeamRequest, scopedKey string) (app.CreateTeamCommand, error) {
	loc, err := Location(req.GetTimeZone())
	if err != nil {
		return app.CreateTeamCommand{}, err
	}
	hours, err := Hours(req.GetHours())
	if err != nil {
		return app.CreateTeamCommand{}, err
	}
	return app.CreateTeamCommand{IdempotencyKey: scopedKey, Team: domain.Team{
		Key: req.GetKey(), Name: req.GetName(), Assignment: assignments[req.GetAssignment()],
		Calendar: domain.Calendar{Location: loc, Hours: hours},
	}}, nil
}

// UpdateTeamCommand reads a request.
func UpdateTeamCommand(req *feedbackv1.UpdateTeamRequest) (app.UpdateTeamCommand, error) {
	loc, err := Location(req.GetTimeZone())
	if err != nil {
		return app.UpdateTeamCommand{}, err
	}
	hours, err := Hours(req.GetHours())
	if err != nil {
		return app.UpdateTeamCommand{}, err
	}
	return app.UpdateTeamCommand{TeamID: req.GetTeamId(), Name: req.GetName(), Location: loc, Hours: hours,
		Assignment: assignments[req.GetAssignment()]}, nil
}

// Holidays reads a request's holidays.
func Holidays(hs []*feedbackv1.Holiday) []domain.Holiday {
	out := make([]domain.Holiday, len(hs))
	for i, h := range hs {
		out[i] = domain.Holiday{Day: h.GetDay(), Name: h.GetName()}
	}
	return out
}

// AddStaffCommand reads a request; scopedKey is the caller's idempotency key.
func AddStaffCommand(req *feedbackv1.AddStaffRequest, scopedKey string) app.AddStaffCommand {
	return app.AddStaffCommand{IdempotencyKey: scopedKey, Staff: domain.Staff{
		TeamID: req.GetTeamId(), Name: req.GetName(), Email: req.GetEmail(), Role: roles[req.GetRole()],
	}}
}

// UpdateStaff reads a request.
func UpdateStaff(req *feedbackv1.UpdateStaffRequest) domain.Staff {
	return domain.Staff{ID: req.GetStaffId(), TeamID: req.GetTeamId(), Name: req.GetName(), Email: req.GetEmail(),
		Role: roles[req.GetRole()], Active: req.GetActive()}
}

// TeamProto writes a team.
func TeamProto(t domain.Team) *feedbackv1.Team {
	var spans [7][]*feedbackv1.Span
	for wd, ss := range t.Calendar.Hours {
		for _, s := range ss {
			spans[wd] = append(spans[wd], &feedbackv1.Span{Start: domain.FormatHHMM(s.Start), End: domain.FormatHHMM(s.End)})
		}
	}
	out := &feedbackv1.Team{
		TeamId: t.ID, Key: t.Key, Name: t.Name, TimeZone: t.Calendar.Location.String(),
		Hours: &feedbackv1.BusinessHours{
			Sunday: spans[0], Monday: spans[1], Tuesday: spans[2], Wednesday: spans[3],
			Thursday: spans[4], Friday: spans[5], Saturday: spans[6],
		},
		Assignment: assignmentProto(t.Assignment),
		CreatedAt:  timestamppb.New(t.CreatedAt),
		UpdatedAt:  timestamppb.New(t.UpdatedAt),
	}
	for _, h := range t.Calendar.Holidays {
		out.Holidays = append(out.Holidays, &feedbackv1.Holiday{Day: h.Day, Name: h.Name})
	}
	return out
}

// TeamsProto writes teams.
func TeamsProto(ts []domain.Team) []*feedbackv1.Team {
	out := make([]*feedbackv1.Team, len(ts))
	for i, t := range ts {
		out[i] = TeamProto(t)
	}
	return out
}

// StaffProto writes a staff row.
func StaffProto(s domain.Staff) *feedbackv1.Staff {
	return &feedbackv1.Staff{StaffId: s.ID, TeamId: s.TeamID, Name: s.Name, Email: s.Email,
		Role: roleProto(s.Role), Active: s.Active}
}

// StaffListProto writes staff rows.
func StaffListProto(ss []domain.Staff) []*feedbackv1.Staff {
	out := make([]*feedbackv1.Staff, len(ss))
	for i, s := range ss {
		out[i] = StaffProto(s)
	}
	return out
}

func assignmentProto(a domain.AssignmentStrategy) feedbackv1.AssignmentStrategy {
	switch a {
	case domain.AssignRoundRobin:
		return feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN
	case domain.AssignFewestOpen:
		return feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN
	}
	return feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_UNSPECIFIED
}

func roleProto(r domain.Role) feedbackv1.StaffRole {
	for p, d := range roles {
		if d == r {
			return p
		}
	}
	return feedbackv1.StaffRole_STAFF_ROLE_UNSPECIFIED
}
