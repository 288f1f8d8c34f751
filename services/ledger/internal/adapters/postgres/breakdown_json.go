package postgres

import (
	"encoding/json"
	"strconv"
)

// appendParts appends parts as encoding/json marshals them, byte for byte, without its
// reflection: a credit's breakdown is written on every credit of a purchase, one part per
// rule that applied, and marshalling it was a sizeable share of what a purchase cost.
// TestAppendPartsIsJSONMarshal holds the two equal.
func appendParts(b []byte, parts []partJSON) []byte {
	if parts == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		p := &parts[i]
		b = append(b, `{"rule_id":`...)
		b = appendString(b, p.RuleID)
		if p.Version != 0 {
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, int64(p.Version), 10)
		}
		b = append(b, `,"name":`...)
		b = appendString(b, p.Name)
		if p.CampaignID != "" {
			b = append(b, `,"campaign_id":`...)
			b = appendString(b, p.CampaignID)
		}
		b = append(b, `,"matched_lines":`...)
		if p.MatchedLines == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for k, n := range p.MatchedLines {
				if k > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(n), 10)
			}
			b = append(b, ']')
		}
		b = append(b, `,"line_points":`...)
		if p.LinePoints == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for k, n := range p.LinePoints {
				if k > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, n, 10)
			}
			b = append(b, ']')
		}
		b = append(b, `,"uncapped":`...)
		b = strconv.AppendInt(b, p.Uncapped, 10)
		b = append(b, `,"points":`...)
		b = strconv.AppendInt(b, p.Points, 10)
		if p.Cap != "" {
			b = append(b, `,"cap":`...)
			b = appendString(b, p.Cap)
		}
		b = append(b, `,"expiry":`...)
		b = appendString(b, p.Expiry)
		if p.ExpiryOverridden {
			b = append(b, `,"expiry_overridden":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendString appends s quoted as encoding/json does: plain printable ASCII as it is,
// anything it would escape (quotes, backslashes, controls, <, >, &, non-ASCII) by
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
