module github.com/treue/treue/services/ledger

go 1.26.0
