// Package domain is the follow-up work that feedback creates: cases, their kinds and
// outcomes, due times and the routing rules that open them. It does no I/O.
package domain
