module github.com/treue/treue

go 1.26.0

require (
	github.com/google/uuid v1.0.0
	github.com/jackc/pgx/v5 v5.0.0
	github.com/nats-io/nats.go v1.0.0
	google.golang.org/grpc v1.0.0
)

replace (
	github.com/google/uuid => ../stubs/uuid
	github.com/jackc/pgx/v5 => ../stubs/pgx
	github.com/nats-io/nats.go => ../stubs/nats
	google.golang.org/grpc => ../stubs/grpc
)
