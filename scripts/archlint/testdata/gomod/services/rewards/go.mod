module github.com/treue/treue/services/rewards

go 1.26.0

require (
	github.com/treue/treue/pkg v0.0.0
	github.com/treue/treue/services/ledger v0.0.0
)

replace (
	github.com/treue/treue/pkg => ../../pkg
	github.com/treue/treue/services/ledger => ../ledger
)
