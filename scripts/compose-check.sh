#!/usr/bin/env bash
# Validates the container deployment (docker-compose.yml, deploy/Dockerfile,
# deploy/nats/nats.conf, the observability stack's files in deploy/, .env.example) without
# starting anything.
#
# 1. `docker compose config -q`, when the compose plugin is installed: once with dummy
#    values for the required variables, once with .env.example as the env file.
# 2. scripts/composecheck, when Go is installed: the Compose Specification's own loader
#    (what `docker compose config` runs) plus the deployment's rules, nats-server's option
#    parser on the NATS command and config, BuildKit's Dockerfile frontend and linter
#    for every service's build arguments, Prometheus's own loader and rule parser on its
#    configuration and alerts, the collector's pipelines, Grafana's provisioning and
#    dashboards (PromQL parsed), and that every file the compose file mounts exists; then
#    its own tests. It needs no Docker engine.
#
# Exits non-zero when a check finds a problem. A check whose tool is missing is skipped
# with a note; COMPOSE_CHECK_STRICT=1 makes a skip an error too.
set -euo pipefail
cd "$(dirname "$0")/.."

compose_file=docker-compose.yml
required=(API_KEYS SERVICE_API_KEY FEEDBACK_REWARDS_API_KEY SURVEY_TOKEN_SECRET GRAFANA_ADMIN_PASSWORD NATS_SEED_LEDGER NATS_SEED_SURVEY NATS_SEED_FEEDBACK NATS_SEED_REWARDS NATS_SEED_REPORTING)
ran=0

if docker compose version >/dev/null 2>&1; then
	dummies=() unset_required=()
	for v in "${required[@]}"; do
		dummies+=("$v=dummy")
		unset_required+=(-u "$v")
	done
	echo "compose-check: docker compose config (dummy ${required[*]})"
	env "${dummies[@]}" docker compose -f "$compose_file" config -q
	echo "compose-check: docker compose config (--env-file .env.example)"
	env "${unset_required[@]}" docker compose -f "$compose_file" --env-file .env.example config -q
	ran=$((ran + 1))
else
	echo "compose-check: skipped docker compose config: the docker compose plugin is not installed"
fi

if command -v go >/dev/null 2>&1; then
	echo "compose-check: scripts/composecheck (compose-go loader, NATS options, BuildKit Dockerfile frontend, Prometheus, collector, Grafana)"
	# Not in go.work: its tooling dependencies stay out of the services' build list.
	GOWORK=off go -C scripts/composecheck run . -root ../.. -f "$compose_file" -env-example .env.example
	# Its own tests: each check reports what it guards against.
	GOWORK=off go -C scripts/composecheck test -count=1 .
	ran=$((ran + 1))
else
	echo "compose-check: skipped scripts/composecheck: go is not installed"
fi

if [ "$ran" -eq 0 ]; then
	echo "compose-check: nothing validated (no docker compose plugin, no go)" >&2
	[ "${COMPOSE_CHECK_STRICT:-0}" = 1 ] && exit 1
fi
echo "compose-check: ok ($ran check(s) ran)"
