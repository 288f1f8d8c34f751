package grpcx

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/treue/treue/pkg/telemetry"
)

// AuthorizeHTTP checks the API key of an HTTP request (Authorization: Bearer <key>, or
// X-Api-Key) against keys as the gRPC server does, and that its caller holds one of
// roles. A refusal is counted (telemetry.Refused) and returned with the HTTP status to
// answer: 401 for a missing or unknown key, 403 for a key without the role.
func AuthorizeHTTP(keys Keys, r *http.Request, roles ...string) (Caller, int, error) {
	key := ""
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		key = strings.TrimSpace(k)
	} else {
		key = r.Header.Get("X-Api-Key")
	}
	if key == "" {
		telemetry.Refused(r.Context(), "missing_key")
		return Caller{}, http.StatusUnauthorized, fmt.Errorf("missing API key: send 'Authorization: Bearer <key>'")
	}
	caller, ok := keys[HashKey(key)]
	if !ok {
		telemetry.Refused(r.Context(), "unknown_key")
		return Caller{}, http.StatusUnauthorized, fmt.Errorf("unknown API key")
	}
	for _, role := range caller.Roles {
		if slices.Contains(roles, role) {
			return caller, http.StatusOK, nil
		}
	}
	telemetry.Refused(r.Context(), "role")
	return Caller{}, http.StatusForbidden, fmt.Errorf("%s may not do this (needs one of: %s)", caller.Name, strings.Join(roles, ", "))
}
