module github.com/treue/treue/services/ledger

go 1.26.0

require github.com/treue/treue/pkg v0.0.0

replace github.com/treue/treue/pkg => ../../pkg
