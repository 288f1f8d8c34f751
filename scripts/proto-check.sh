#!/usr/bin/env bash
# Lints the proto contract with buf and checks it for breaking changes against the
# previous commit on main (PROTO_BASE, default HEAD~1), so a change that breaks a till's
# or a service's contract fails `make test`. buf is pinned by version.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF=github.com/bufbuild/buf/cmd/buf@v1.75.0
base=${PROTO_BASE:-HEAD~1}

(cd proto && GOWORK=off go run "$BUF" lint)
if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
  echo "proto-check: no commit $base to compare with (a shallow clone?); breaking-change check skipped"
  exit 0
fi
# The contract as it was, with today's copy of the protovalidate annotations where that
# commit did not keep one.
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git archive "$base" proto | tar -x -C "$old"
[ -d "$old/proto/third_party" ] || cp -r proto/third_party "$old/proto/"
(cd proto && GOWORK=off go run "$BUF" breaking --against "$old/proto")
echo "proto-check: lint clean, no breaking change against $base"
