module github.com/treue/treue/services/survey

go 1.26.0

require github.com/treue/treue/proto v0.0.0

// A replace alone wires another service in as surely as a requirement.
replace github.com/treue/treue/services/feedback => ../feedback
