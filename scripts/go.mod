module github.com/treue/treue/scripts

go 1.26.0
