package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/pkg/pg"

	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

var (
	_ app.OrgStore = (*Store)(nil)
	_ app.OrgTx    = Tx{}
)

const teamColumns = `team_id::text, key, name, time_zone, hours, assignment, created_at, updated_at`

// hoursJSON is business hours as stored: {"monday": [["09:00", "12:00"]], ...}.
type hoursJSON map[string][][2]string

func encodeHours(h [7][]domain.Span) ([]byte, error) {
	out := hoursJSON{}
	for wd, spans := range h {
		list := make([][2]string, 0, len(spans))
		for _, s := range spans {
			list = append(list, [2]string{domain.FormatHHMM(s.Start), domain.FormatHHMM(s.End)})
		}
		out[domain.WeekdayField(time.Weekday(wd))] = list
	}
	return json.Marshal(out)
}

func decodeHours(b []byte) ([7][]domain.Span, error) {
	var in hoursJSON
	var h [7][]domain.Span
	if err := json.Unmarshal(b, &in); err != nil {
		return h, err
	}
	for wd := range h {
		for _, s := range in[domain.WeekdayField(time.Weekday(wd))] {
			start, err1 := domain.ParseHHMM(s[0])
			end, err2 := domain.ParseHHMM(s[1])
			if err := errors.Join(err1, err2); err != nil {
				return h, err
			}
			h[wd] = append(h[wd], domain.Span{Start: start, End: end})
		}
	}
	return h, nil
}

func scanTeam(row pgx.CollectableRow) (domain.Team, error) {
	var (
		t     domain.Team
		zone  string
		hours []byte
	)
	if err := row.Scan(&t.ID, &t.Key, &t.Name, &zone, &hours, &t.Assignment, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return t, fmt.Errorf("team %s: time zone: %w", t.Key, err)
	}
	t.Calendar.Location = loc
	if t.Calendar.Hours, err = decodeHours(hours); err != nil {
		return t, fmt.Errorf("team %s: hours: %w", t.Key, err)
	}
	return t, nil
}

// teams returns the teams a query selects, with their holidays.
func teams(ctx context.Context, q querier, where string, args ...any) ([]domain.Team, error) {
	rows, err := q.Query(ctx, `SELECT `+teamColumns+` FROM teams `+where+` ORDER BY key`, args...)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, scanTeam)
	if err != nil || len(ts) == 0 {
		return ts, err
	}
	ids := make([]string, len(ts))
	byID := make(map[string]int, len(ts))
	for i, t := range ts {
		ids[i], byID[t.ID] = t.ID, i
	}
	rows, err = q.Query(ctx, `SELECT team_id::text, to_char(day, 'YYYY-MM-DD'), name FROM team_holidays
		WHERE team_id = ANY($1::uuid[]) ORDER BY team_id, day`, ids)
	if err != nil {
		return nil, err
	}
	var teamID string
	var h domain.Holiday
	_, err = pgx.ForEachRow(rows, []any{&teamID, &h.Day, &h.Name}, func() error {
		i := byID[teamID]
		ts[i].Calendar.Holidays = append(ts[i].Calendar.Holidays, h)
		return nil
	})
	return ts, err
}

func oneTeam(ctx context.Context, q querier, where string, args ...any) (domain.Team, error) {
	ts, err := teams(ctx, q, where, args...)
	if err != nil {
		return domain.Team{}, err
	}
	if len(ts) == 0 {
		return domain.Team{}, domain.ErrTeamNotFound
	}
	return ts[0], nil
}

const staffColumns = `staff_id::text, team_id::text, name, email, role, active`

func scanStaff(row pgx.CollectableRow) (domain.Staff, error) {
	var s domain.Staff
	err := row.Scan(&s.ID, &s.TeamID, &s.Name, &s.Email, &s.Role, &s.Active)
	return s, err
}

func staffList(ctx context.Context, q querier, where string, args ...any) ([]domain.Staff, error) {
	rows, err := q.Query(ctx, `SELECT `+staffColumns+` FROM staff `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanStaff)
}

func teamOf(ctx context.Context, q querier, key string) (domain.Team, []domain.Staff, error) {
	t, err := oneTeam(ctx, q, `WHERE key = $1`, key)
	if err != nil {
		return domain.Team{}, nil, err
	}
	s, err := staffList(ctx, q, `WHERE team_id = $1 ORDER BY staff_id`, t.ID)
	return t, s, err
}

func (s *Store) Team(ctx context.Context, idOrKey string) (domain.Team, error) {
	return oneTeam(ctx, s.db.Pool, `WHERE key = $1 OR team_id::text = $1`, idOrKey)
}

func (s *Store) Teams(ctx context.Context) ([]domain.Team, error) {
	return teams(ctx, s.db.Pool, ``)
}

func (s *Store) StaffList(ctx context.Context, teamID string, includeInactive bool) ([]domain.Staff, error) {
	return staffList(ctx, s.db.Pool, `WHERE ($1 = '' OR team_id::text = $1) AND (active OR $2) ORDER BY name, staff_id`, teamID, includeInactive)
}

func (s *Store) TeamOf(ctx context.Context, key string) (domain.Team, []domain.Staff, error) {
	return teamOf(ctx, s.db.Pool, key)
}

func (t Tx) TeamOf(ctx context.Context, key string) (domain.Team, []domain.Staff, error) {
	return teamOf(ctx, t.tx, key)
}

func (t Tx) CreateTeam(ctx context.Context, team domain.Team, idempotencyKey, requestHash string) (domain.Team, string, bool, error) {
	hours, err := encodeHours(team.Calendar.Hours)
	if err != nil {
		return domain.Team{}, "", false, err
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO teams (team_id, key, name, time_zone, hours, assignment, idempotency_key, request_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING`,
		team.ID, team.Key, team.Name, team.Calendar.Location.String(), hours, team.Assignment, idempotencyKey, requestHash, team.CreatedAt)
	if err != nil {
		return domain.Team{}, "", false, err
	}
	if tag.RowsAffected() == 1 {
		stored, err := oneTeam(ctx, t.tx, `WHERE team_id = $1`, team.ID)
		return stored, requestHash, true, err
	}
	var id, hash string
	err = t.tx.QueryRow(ctx, `SELECT team_id::text, request_hash FROM teams WHERE idempotency_key = $1`, idempotencyKey).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Team{}, "", false, domain.ErrTeamExists
	}
	if err != nil {
		return domain.Team{}, "", false, err
	}
	stored, err := oneTeam(ctx, t.tx, `WHERE team_id = $1`, id)
	return stored, hash, false, err
}

func (t Tx) TeamForUpdate(ctx context.Context, id string) (domain.Team, error) {
	var locked string
	err := t.tx.QueryRow(ctx, `SELECT team_id::text FROM teams WHERE team_id::text = $1 FOR UPDATE`, id).Scan(&locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Team{}, domain.ErrTeamNotFound
	}
	if err != nil {
		return domain.Team{}, err
	}
	return oneTeam(ctx, t.tx, `WHERE team_id = $1`, locked)
}

func (t Tx) SaveTeam(ctx context.Context, team domain.Team) (domain.Team, error) {
	hours, err := encodeHours(team.Calendar.Hours)
	if err != nil {
		return domain.Team{}, err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE teams SET name = $2, time_zone = $3, hours = $4, assignment = $5, updated_at = $6 WHERE team_id = $1`,
		team.ID, team.Name, team.Calendar.Location.String(), hours, team.Assignment, team.UpdatedAt)
	if err != nil {
		return domain.Team{}, err
	}
	if tag.RowsAffected() == 0 {
		return domain.Team{}, domain.ErrTeamNotFound
	}
	return oneTeam(ctx, t.tx, `WHERE team_id = $1`, team.ID)
}

func (t Tx) SetHolidays(ctx context.Context, teamID string, holidays []domain.Holiday) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM team_holidays WHERE team_id = $1`, teamID); err != nil {
		return err
	}
	days, names := make([]string, len(holidays)), make([]string, len(holidays))
	for i, h := range holidays {
		days[i], names[i] = h.Day, h.Name
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO team_holidays (team_id, day, name)
		SELECT $1, d::date, n FROM unnest($2::text[], $3::text[]) AS h(d, n)`, teamID, days, names)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `UPDATE teams SET updated_at = now() WHERE team_id = $1`, teamID)
	return err
}

// teamExists locks the team against deletion until the transaction ends.
func (t Tx) teamExists(ctx context.Context, teamID string) error {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM teams WHERE team_id::text = $1 FOR KEY SHARE`, teamID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.ErrTeamNotFound
	}
	return err
}

func (t Tx) AddStaff(ctx context.Context, s domain.Staff, idempotencyKey, requestHash string) (domain.Staff, string, bool, error) {
	var id, hash string
	err := t.tx.QueryRow(ctx, `SELECT staff_id::text, request_hash FROM staff WHERE idempotency_key = $1`, idempotencyKey).Scan(&id, &hash)
	switch {
	case err == nil:
		stored, err := oneStaff(ctx, t.tx, id)
		return stored, hash, false, err
	case !errors.Is(err, pgx.ErrNoRows):
		return domain.Staff{}, "", false, err
	}
	if err := t.teamExists(ctx, s.TeamID); err != nil {
		return domain.Staff{}, "", false, err
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO staff (staff_id, team_id, name, email, role, active, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		s.ID, s.TeamID, s.Name, s.Email, s.Role, s.Active, idempotencyKey, requestHash)
	if err != nil {
		return domain.Staff{}, "", false, err
	}
	if tag.RowsAffected() == 0 {
		// The email is taken, or a request with the same key committed a moment ago.
		err := t.tx.QueryRow(ctx, `SELECT staff_id::text, request_hash FROM staff WHERE idempotency_key = $1`, idempotencyKey).Scan(&id, &hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Staff{}, "", false, domain.ErrStaffEmailTaken
		}
		if err != nil {
			return domain.Staff{}, "", false, err
		}
		stored, err := oneStaff(ctx, t.tx, id)
		return stored, hash, false, err
	}
	stored, err := oneStaff(ctx, t.tx, s.ID)
	return stored, requestHash, true, err
}

func oneStaff(ctx context.Context, q querier, id string) (domain.Staff, error) {
	ss, err := staffList(ctx, q, `WHERE staff_id::text = $1`, id)
	if err != nil {
		return domain.Staff{}, err
	}
	if len(ss) == 0 {
		return domain.Staff{}, domain.ErrStaffNotFound
	}
	return ss[0], nil
}

func (t Tx) SaveStaff(ctx context.Context, s domain.Staff) (domain.Staff, error) {
	if err := t.teamExists(ctx, s.TeamID); err != nil {
		return domain.Staff{}, err
	}
	// A savepoint, so that a taken email leaves the transaction usable.
	sub, err := t.tx.Begin(ctx)
	if err != nil {
		return domain.Staff{}, err
	}
	tag, err := sub.Exec(ctx, `UPDATE staff SET team_id = $2, name = $3, email = $4, role = $5, active = $6, updated_at = now()
		WHERE staff_id::text = $1`, s.ID, s.TeamID, s.Name, s.Email, s.Role, s.Active)
	if err != nil {
		_ = sub.Rollback(ctx)
		if pg.IsUniqueViolation(err, "staff_email_key") {
			return domain.Staff{}, domain.ErrStaffEmailTaken
		}
		return domain.Staff{}, err
	}
	if err := sub.Commit(ctx); err != nil {
		return domain.Staff{}, err
	}
	if tag.RowsAffected() == 0 {
		return domain.Staff{}, domain.ErrStaffNotFound
	}
	return oneStaff(ctx, t.tx, s.ID)
}

func (t Tx) LockAssignment(ctx context.Context, teamID string) (string, error) {
	if _, err := t.tx.Exec(ctx, `INSERT INTO assignment_cursors (team_id) VALUES ($1) ON CONFLICT DO NOTHING`, teamID); err != nil {
		return "", err
	}
	var last *string
	err := t.tx.QueryRow(ctx, `SELECT last_staff_id::text FROM assignment_cursors WHERE team_id = $1 FOR UPDATE`, teamID).Scan(&last)
	if err != nil || last == nil {
		return "", err
	}
	return *last, nil
}

func (t Tx) SetLastAssigned(ctx context.Context, teamID, staffID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE assignment_cursors SET last_staff_id = $2 WHERE team_id = $1`, teamID, staffID)
	return err
}

func (t Tx) OpenCaseCounts(ctx context.Context, staffIDs []string) (map[string]int, error) {
	rows, err := t.tx.Query(ctx, `SELECT assignee, count(*) FROM cases
		WHERE assignee = ANY($1) AND status NOT IN ('resolved', 'closed') GROUP BY assignee`, staffIDs)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(staffIDs))
	var id string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error { counts[id] = n; return nil })
	return counts, err
}
