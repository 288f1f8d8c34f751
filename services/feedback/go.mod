module github.com/treue/treue/services/feedback

go 1.26.0

require (
	github.com/treue/treue/pkg v0.0.0
	github.com/treue/treue/proto v0.0.0
)

require cel.dev/cel-go v0.32.0 // indirect

replace github.com/treue/treue/pkg => ../../pkg

replace github.com/treue/treue/proto => ../../proto
