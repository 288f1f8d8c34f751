module github.com/treue/treue/services/survey

go 1.26.0
