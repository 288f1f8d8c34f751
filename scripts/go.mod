module github.com/treue/treue/scripts

go 1.26.0

replace (
	github.com/treue/treue/pkg => ../pkg
	github.com/treue/treue/proto => ../proto
)
