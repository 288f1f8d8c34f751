module github.com/treue/treue/services/feedback

go 1.26.0
