module github.com/treue/treue/services/rewards

go 1.26.0
