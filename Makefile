# Treue. `make run` starts the whole system with demo traffic; `make test` runs every
# check and test. Both need only Go: Postgres and NATS are found or started by the
# project's own code (pkg/devstack), and every tool is pinned by version.

SHELL := /bin/bash
# go.work names the Go release to build with (toolchain go1.26.11: the standard library's
# security fixes that govulncheck asks for); auto lets an older local go fetch it through
# the module proxy. A GOTOOLCHAIN set in the environment wins.
export GOTOOLCHAIN ?= auto
MODULES := proto pkg scripts services/ledger services/survey services/feedback services/rewards services/reporting
# Packages of every module in the workspace.
PACKAGES := github.com/treue/treue/...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The architecture rules' linter (rules in .depguard.yml); scripts/archlint reads this pin.
DEPGUARD := github.com/OpenPeeDeeP/depguard/v2/cmd/depguard@v2.3.0

.PHONY: run test lint vet staticcheck arch proto-check fmt go-test fuzz fuzz-long vulncheck bench proto compose-check k8s-check tidy clean

## run: the whole system on this machine with a POS simulator; Ctrl-C stops it.
## Built, then started, rather than `go run`: `go run` reports an interrupt as a failure.
run:
	go build -o bin/treue-dev ./scripts/cmd/treue-dev
	bin/treue-dev

## test: formatting, vet, staticcheck, the layering rules, every test on real Postgres
## and NATS, every fuzz target briefly, the Kubernetes manifests, and govulncheck.
test: lint go-test fuzz k8s-check vulncheck

go-test:
	go test -count=1 -timeout 20m $(PACKAGES)

## fuzz: every fuzz target (func FuzzX in a _test.go file) for FUZZTIME each; found by
## name, so a new target runs without being listed here.
FUZZTIME ?= 5s
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh $(MODULES)

## fuzz-long: every fuzz target for 5 minutes (FUZZTIME to choose).
fuzz-long:
	$(MAKE) fuzz FUZZTIME=$(or $(filter-out 5s,$(FUZZTIME)),5m)

## vulncheck: govulncheck (pinned) over every module, with vuln.go.dev or, where only the
## module proxy answers, a database built from the pinned golang.org/x/vulndb module.
vulncheck:
	bash scripts/vulncheck.sh

lint: fmt vet staticcheck arch proto-check

fmt:
	@out=$$(gofmt -l $(MODULES) | grep -v '\.pb\.go$$' || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet $(PACKAGES)

staticcheck:
	go run $(STATICCHECK) $(PACKAGES)

## arch: the layering rules (.depguard.yml: pure domain, application free of adapters,
## drivers and generated code, services apart, pkg/ serving all) and no service's go.mod
## naming another service.
arch:
	go run $(DEPGUARD) $(PACKAGES)
	go test -count=1 -run '^TestServiceModulesStandAlone$$|^TestEveryServiceHasRules$$' github.com/treue/treue/scripts/archlint

## proto-check: buf lint, and buf breaking against the previous commit (PROTO_BASE to
## compare with another), so a change that breaks the contract fails.
proto-check:
	bash scripts/proto-check.sh

## bench: end-to-end throughput, Redeem/RedeemCoupon latency, memory, vs a bare pipe.
## BENCH_ARGS="-purchases 100000 -members 10000" to change the load.
bench:
	go run ./scripts/cmd/treue-bench $(BENCH_ARGS)

## proto: lint proto/ with buf and regenerate the committed Go code.
proto:
	bash scripts/proto.sh

compose-check:
	bash scripts/compose-check.sh

## k8s-check: render deploy/k8s's overlays with Kustomize and validate every object,
## strictly, against the Kubernetes and CloudNativePG schemas (from pinned Go modules)
## and the deployment's rules. Its own module, outside go.work: Kustomize's and
## kubeconform's dependencies stay out of the services' build list.
k8s-check:
	@out=$$(gofmt -l scripts/k8scheck); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd scripts/k8scheck && GOWORK=off go vet ./... && GOWORK=off go run $(STATICCHECK) ./... && GOWORK=off go test -count=1 ./...

## tidy: go mod tidy in every module.
tidy:
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy) || exit 1; done

## clean: drop the dev database `treue` (every service's schema and data), remove .run
## (NATS store, logs, API keys, survey link secret) and bin; the next `make run` starts afresh.
clean:
	go run ./scripts/cmd/treue-dev -clean
	rm -rf bin
