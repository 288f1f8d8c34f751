package domain

import (
	"errors"
	"strings"
	"time"
	// The zone database travels with the binary, so that a time zone is valid or not
	// whatever the host has installed.
	_ "time/tzdata"
)

// CheckTimeZone checks that tz ("" for none) names an IANA time zone such as
// Europe/Berlin. "Local" and other names the host alone gives meaning to are refused.
func CheckTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	if tz != strings.TrimSpace(tz) || tz == "Local" {
		return errors.New("not an IANA time zone")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return errors.New("unknown time zone " + tz)
	}
	return nil
}
