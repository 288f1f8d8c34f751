package domain

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrGoodwillLimit: the goodwill asked for is over the caller's role limit.
	ErrGoodwillLimit = errors.New("goodwill over the caller's limit")
	// ErrGoodwillAnonymous: the case has no member to grant goodwill to.
	ErrGoodwillAnonymous = errors.New("goodwill needs a case with a member")
	// ErrGoodwillRewardNotAllowed: none of the caller's roles may grant a reward as
	// goodwill (FEEDBACK_GOODWILL_REWARD_ROLES).
	ErrGoodwillRewardNotAllowed = errors.New("none of the caller's roles may grant a reward as goodwill (FEEDBACK_GOODWILL_REWARD_ROLES)")
	// ErrGoodwillAlreadyGranted: the case granted goodwill before (it was resolved with
	// goodwill, then reopened); a case grants goodwill once.
	ErrGoodwillAlreadyGranted = errors.New("the case granted goodwill already; a case grants goodwill once")
)

// Goodwill is points granted to a case's member when the case is resolved; the ledger
// books them from its goodwill budget. Its id is the case's: a case grants at most once.
type Goodwill struct {
	CaseID   string
	MemberID string
	Points   int64
	// RewardID is a coupon reward of the rewards catalogue given free; "" for none.
	RewardID  string
	GrantedBy string
	Role      string // the role whose limit allowed it
	Reason    string
	GrantedAt time.Time
}

// GoodwillLimits is the most goodwill points each role may grant on one case. A role
// absent from it may grant none.
type GoodwillLimits map[string]int64

// GoodwillLimitError names the limit a grant broke; it is ErrGoodwillLimit.
type GoodwillLimitError struct {
	Role   string // the caller's role with the highest limit, "" when none has one
	Limit  int64
	Points int64
}

func (e *GoodwillLimitError) Error() string {
	if e.Role == "" {
		return "none of the caller's roles may grant goodwill (FEEDBACK_GOODWILL_LIMITS)"
	}
	return fmt.Sprintf("role %s may grant at most %d goodwill points; %d asked", e.Role, e.Limit, e.Points)
}

func (e *GoodwillLimitError) Unwrap() error { return ErrGoodwillLimit }

// Check returns the role whose limit allows points to a caller with roles: the role with
// the highest limit among them; a *GoodwillLimitError when that is not enough.
func (l GoodwillLimits) Check(roles []string, points int64) (string, error) {
	best, bestRole := int64(0), ""
	for _, r := range roles {
		if n, ok := l[r]; ok && (bestRole == "" || n > best) {
			best, bestRole = n, r
		}
	}
	if bestRole == "" || points > best {
		return "", &GoodwillLimitError{Role: bestRole, Limit: best, Points: points}
	}
	return bestRole, nil
}

// ParseGoodwillLimits reads "role:points,role:points" (FEEDBACK_GOODWILL_LIMITS); "=" may
// stand for ":" as in the ledger's LEDGER_ADJUST_LIMITS.
func ParseGoodwillLimits(s string) (GoodwillLimits, error) {
	out := GoodwillLimits{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		role, value, ok := strings.Cut(strings.Replace(entry, "=", ":", 1), ":")
		role = strings.TrimSpace(role)
		if !ok || role == "" {
			return nil, fmt.Errorf("%q: want role:points", entry)
		}
		if _, dup := out[role]; dup {
			return nil, fmt.Errorf("role %s has two limits", role)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a whole number above zero", role, value)
		}
		out[role] = n
	}
	return out, nil
}

// GoodwillPolicy is who may grant what as goodwill: points up to each role's limit, a
// coupon reward by the roles in RewardRoles.
type GoodwillPolicy struct {
	Limits      GoodwillLimits
	RewardRoles []string
}

// GoodwillAsk is the goodwill a resolution asks to grant.
type GoodwillAsk struct {
	Points   int64
	RewardID string
	Reason   string
	By       string
	Roles    []string
}

// Any reports whether the ask grants anything.
func (a GoodwillAsk) Any() bool { return a.Points > 0 || a.RewardID != "" }

// Grant returns the goodwill of resolving c with ask at at: ErrGoodwillAnonymous for a
// case without a member, a *GoodwillLimitError for points over the caller's limit,
// ErrGoodwillRewardNotAllowed for a reward none of the caller's roles may grant. Role is
// the role whose limit allowed the points, else the role that allowed the reward.
func (p GoodwillPolicy) Grant(c Case, ask GoodwillAsk, at time.Time) (Goodwill, error) {
	if c.MemberID == "" {
		return Goodwill{}, ErrGoodwillAnonymous
	}
	// The ledger and the rewards service take at most this much: a longer reason would be
	// refused after the resolution committed, and the goodwill lost.
	if utf8.RuneCountInString(ask.Reason) > MaxGoodwillReason {
		return Goodwill{}, InvalidField("goodwill_reason", "at most %d characters", MaxGoodwillReason)
	}
	role := ""
	if ask.Points > 0 {
		var err error
		if role, err = p.Limits.Check(ask.Roles, ask.Points); err != nil {
			return Goodwill{}, err
		}
	}
	if ask.RewardID != "" {
		i := slices.IndexFunc(ask.Roles, func(r string) bool { return slices.Contains(p.RewardRoles, r) })
		if i < 0 {
			return Goodwill{}, ErrGoodwillRewardNotAllowed
		}
		role = cmp.Or(role, ask.Roles[i])
	}
	return Goodwill{CaseID: c.ID, MemberID: c.MemberID, Points: ask.Points, RewardID: ask.RewardID, GrantedBy: ask.By,
		Role: role, Reason: ask.Reason, GrantedAt: at}, nil
}

// MaxGoodwillReason bounds a goodwill reason, as the ledger's and the rewards service's
// contracts do.
const MaxGoodwillReason = 500

// ParseRoles reads a comma-separated list of roles (FEEDBACK_GOODWILL_REWARD_ROLES).
func ParseRoles(s string) []string {
	var out []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
