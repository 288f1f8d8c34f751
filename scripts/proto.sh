#!/usr/bin/env bash
# Lints proto/ with buf and regenerates the committed Go code. Every tool is pinned by
# version and fetched through the Go module proxy, so a fresh machine builds the same code.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF=github.com/bufbuild/buf/cmd/buf@v1.75.0
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
# The protovalidate annotations (buf/validate/validate.proto) come from the protovalidate
# module; its version matches the generated Go code that buf.build/go/protovalidate uses.
PROTOVALIDATE=github.com/bufbuild/protovalidate@v1.2.2

export GOBIN="$PWD/bin"
GOWORK=off go install "$PROTOC_GEN_GO"
GOWORK=off go install "$PROTOC_GEN_GO_GRPC"

dir=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "$PROTOVALIDATE" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
rm -rf proto/third_party/protovalidate
mkdir -p proto/third_party/protovalidate/buf/validate
cp "$dir/proto/protovalidate/buf/validate/validate.proto" proto/third_party/protovalidate/buf/validate/
chmod -R u+w proto/third_party

cd proto
GOWORK=off go run "$BUF" format -w --exclude-path third_party
GOWORK=off go run "$BUF" lint
rm -rf gen
GOWORK=off go run "$BUF" generate
