package domain_test

import (
	"errors"
	"testing"

	"github.com/treue/treue/services/feedback/internal/domain"
)

func TestTeamValidate(t *testing.T) {
	ok := domain.Team{Key: "customer-service", Name: "Customer service", Calendar: domain.Always(), Assignment: domain.AssignRoundRobin}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(*domain.Team)
		field string
	}{
		{"upper-case key", func(t *domain.Team) { t.Key = "Customer-Service" }, "key"},
		{"double hyphen", func(t *domain.Team) { t.Key = "customer--service" }, "key"},
		{"trailing hyphen", func(t *domain.Team) { t.Key = "marketing-" }, "key"},
		{"empty key", func(t *domain.Team) { t.Key = "" }, "key"},
		{"blank name", func(t *domain.Team) { t.Name = "  " }, "name"},
		{"unknown strategy", func(t *domain.Team) { t.Assignment = "RANDOM" }, "assignment"},
		{"calendar without zone", func(t *domain.Team) { t.Calendar.Location = nil }, "time_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			team := ok
			tt.edit(&team)
			var fe *domain.FieldError
			if err := team.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a field error on %s", err, tt.field)
			}
		})
	}
}

func TestStaffValidate(t *testing.T) {
	ok := domain.Staff{TeamID: "t1", Name: "Ada", Email: "ada@example.com", Role: domain.RoleAgent, Active: true}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(*domain.Staff)
		field string
	}{
		{"no name", func(s *domain.Staff) { s.Name = "" }, "name"},
		{"not an email", func(s *domain.Staff) { s.Email = "ada" }, "email"},
		{"email with a display name", func(s *domain.Staff) { s.Email = "Ada <ada@example.com>" }, "email"},
		{"unknown role", func(s *domain.Staff) { s.Role = "boss" }, "role"},
		{"no team", func(s *domain.Staff) { s.TeamID = "" }, "team_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			var fe *domain.FieldError
			if err := s.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a field error on %s", err, tt.field)
			}
		})
	}
	if got := domain.NormalizeEmail("  Ada@Example.COM "); got != "ada@example.com" {
		t.Fatalf("NormalizeEmail = %q", got)
	}
}
