// Package domain is the points ledger's model: members, accounts, double-entry
// transactions, the earning and return rules, and holds. Pure Go: no I/O, no clocks, no
// generated types.
package domain
