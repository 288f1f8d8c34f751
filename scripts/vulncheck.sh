#!/usr/bin/env bash
# govulncheck over every module: fails when code calls a known vulnerable function.
#
# The vulnerability database comes from vuln.go.dev when it answers. Where only the Go
# module proxy is reachable, the same data is served as the module golang.org/x/vulndb
# (its data/osv holds every entry as OSV JSON): a pinned snapshot is fetched through the
# proxy and indexed into a local database with the vulndb's own indexdb, cached in
# .cache/vulndb. GOVULNDB overrides both (a URL or file:// path). Bump VULNDB_VERSION to
# take newer entries when vuln.go.dev is out of reach.
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
MODULES=(proto pkg scripts services/ledger services/survey services/feedback services/rewards services/reporting)

db=${GOVULNDB:-}
if [ -z "$db" ]; then
  if curl -fsS --max-time 5 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then
    db=https://vuln.go.dev
  else
    local_db="$PWD/.cache/vulndb/$VULNDB_VERSION"
    if [ ! -f "$local_db/index/db.json" ]; then
      echo "vulncheck: vuln.go.dev is unreachable; building the database from golang.org/x/vulndb@$VULNDB_VERSION"
      if ! src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') || [ -z "$src" ]; then
        echo "vulncheck: SKIPPED: neither vuln.go.dev nor golang.org/x/vulndb through the module proxy is reachable"
        exit 0
      fi
      rm -rf "$local_db.tmp"
      GOFLAGS=-mod=mod go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$local_db.tmp"
      mv "$local_db.tmp" "$local_db"
    fi
    db="file://$local_db"
  fi
fi
echo "vulncheck: database $db"
status=0
for m in "${MODULES[@]}"; do
  echo "vulncheck: $m"
  (cd "$m" && go run "$GOVULNCHECK" -db "$db" ./...) || status=1
done
exit $status
