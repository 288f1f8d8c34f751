package domain

import (
	"encoding/json"
	"time"
)

// Actor is who made an administrative change: the API key's name (stable across
// rotations) and its stored id ("" for a key from configuration).
type Actor struct {
	Name  string
	KeyID string
	Roles []string
}

// AuditEntry is one administrative change, kept forever: Before and After are the
// object as JSON (nil where it did not exist).
type AuditEntry struct {
	ID         string
	At         time.Time
	Actor      Actor
	Action     string // e.g. rule.create, campaign.update, points.adjust
	ObjectKind string // e.g. rule, campaign, tier, member
	ObjectID   string
	Before     json.RawMessage
	After      json.RawMessage
	Note       string
}

// Audit returns the entry for a change of an object from before to after (either may
// be nil), marshalled as JSON.
func Audit(id string, at time.Time, actor Actor, action, kind, objectID string, before, after any, note string) (AuditEntry, error) {
	e := AuditEntry{ID: id, At: at, Actor: actor, Action: action, ObjectKind: kind, ObjectID: objectID, Note: note}
	var err error
	if before != nil {
		if e.Before, err = json.Marshal(before); err != nil {
			return AuditEntry{}, err
		}
	}
	if after != nil {
		if e.After, err = json.Marshal(after); err != nil {
			return AuditEntry{}, err
		}
	}
	return e, nil
}
