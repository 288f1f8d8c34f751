module github.com/treue/treue/services/reporting

go 1.26.0
