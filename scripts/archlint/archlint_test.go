// Package archlint guards the architecture rules: that the depguard rules in .depguard.yml
// still report each kind of import they forbid, and (what depguard cannot see) that no
// service's go.mod requires another service.
package archlint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository, seen from this package's directory (where go test runs it).
const root = "../.."

const servicePrefix = "github.com/treue/treue/services/"

// knownModuleViolations are the go.mod requirements of one service on another that
// exist today, as "service -> other service". Temporary: each goes when its cause does,
// and the test fails once an entry is no longer needed, so the list only shrinks.
var knownModuleViolations = map[string]string{}

// TestServiceModulesStandAlone: no services/*/go.mod requires (or replaces) another
// service, apart from the known violations above.
func TestServiceModulesStandAlone(t *testing.T) {
	found, err := crossServiceModules(filepath.Join(root, "services"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if _, known := knownModuleViolations[f]; !known {
			t.Errorf("services/%s: a service must not depend on another (talk over gRPC and events instead)", strings.Replace(f, " -> ", "/go.mod names services/", 1))
		}
	}
	for k := range knownModuleViolations {
		if !slices.Contains(found, k) {
			t.Errorf("%q is fixed: remove it from knownModuleViolations", k)
		}
	}
}

// TestCrossServiceModuleIsFound proves the check above bites: the fixture's rewards
// requires the ledger and its survey replaces feedback.
func TestCrossServiceModuleIsFound(t *testing.T) {
	found, err := crossServiceModules(filepath.Join("testdata", "gomod", "services"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rewards -> ledger", "survey -> feedback"}
	if !slices.Equal(found, want) {
		t.Errorf("found %q, want %q", found, want)
	}
}

// crossServiceModules reads every <dir>/*/go.mod and returns, sorted and once each, every
// "service -> other" where the go.mod requires or replaces another service's module.
func crossServiceModules(dir string) ([]string, error) {
	mods, err := filepath.Glob(filepath.Join(dir, "*", "go.mod"))
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("no go.mod under %s", dir)
	}
	var found []string
	for _, mod := range mods {
		cmd := exec.Command("go", "mod", "edit", "-json", filepath.Base(mod))
		cmd.Dir = filepath.Dir(mod)
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mod, err)
		}
		var m struct {
			Module  struct{ Path string }
			Require []struct{ Path string }
			Replace []struct{ Old struct{ Path string } }
		}
		if err := json.Unmarshal(out, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", mod, err)
		}
		self, ok := strings.CutPrefix(m.Module.Path, servicePrefix)
		if !ok {
			return nil, fmt.Errorf("%s: module %s is not under %s", mod, m.Module.Path, servicePrefix)
		}
		paths := make([]string, 0, len(m.Require)+len(m.Replace))
		for _, r := range m.Require {
			paths = append(paths, r.Path)
		}
		for _, r := range m.Replace {
			paths = append(paths, r.Old.Path)
		}
		for _, p := range paths {
			if other, ok := strings.CutPrefix(p, servicePrefix); ok && other != self {
				found = append(found, self+" -> "+other)
			}
		}
	}
	slices.Sort(found)
	return slices.Compact(found), nil
}

// TestEveryServiceHasRules: a new service must be added to .depguard.yml, or the rules
// would silently not apply to it.
func TestEveryServiceHasRules(t *testing.T) {
	config, err := os.ReadFile(filepath.Join(root, ".depguard.yml"))
	if err != nil {
		t.Fatal(err)
	}
	mods, err := filepath.Glob(filepath.Join(root, "services", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no services found")
	}
	for _, mod := range mods {
		s := filepath.Base(filepath.Dir(mod))
		for _, want := range []string{
			s + "-isolated:",
			`"**/services/` + s + `/**"`,
			servicePrefix + s + "/internal/domain\n",
			servicePrefix + s + "/internal/app\n",
		} {
			if !bytes.Contains(config, []byte(want)) {
				t.Errorf(".depguard.yml lacks %q for service %s", strings.TrimSpace(want), s)
			}
		}
	}
}

// diagnostic is depguard's report of one refused import, reduced to where and which rule.
var diagnostic = regexp.MustCompile(`^(.+\.go):(\d+):\d+: import '[^']+' is not allowed from list '([^']+)'`)

// TestRulesBite runs depguard, pinned as in the Makefile and with the repository's own
// .depguard.yml, on a fixture laid out like the repository. Each refused import there is
// marked `// want <rule>...`; every mark must be reported and nothing else, so a rule
// that stops biting, or starts biting what is allowed (adapters using drivers, a domain's
// own tests), fails here.
func TestRulesBite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs depguard")
	}
	tool := pinnedTool(t, "DEPGUARD")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	config, err := os.ReadFile(filepath.Join(root, ".depguard.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".depguard.yml"), config, 0o644); err != nil {
		t.Fatal(err)
	}

	want := wantedReports(t, repo)
	for _, rule := range []string{"domain-stdlib-only", "app-no-adapters", "survey-isolated", "rewards-isolated", "pkg-no-services"} {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.HasSuffix(w, " "+rule) }) {
			t.Errorf("the fixture has no import that rule %s must refuse", rule)
		}
	}

	cmd := exec.Command("go", "run", tool, "./...")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("depguard reported nothing:\n%s", out)
	}
	var got []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "exit status ") {
			continue
		}
		m := diagnostic.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("depguard failed: %s\n%s", line, out)
		}
		file, err := filepath.Rel(repo, m[1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.ToSlash(file)+":"+m[2]+" "+m[3])
	}
	slices.Sort(got)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("not reported: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("reported but not wanted: %s", g)
		}
	}
}

// wantedReports collects the fixture's `// want rule...` marks as "file:line rule".
func wantedReports(t *testing.T, repo string) []string {
	t.Helper()
	var want []string
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			_, rules, ok := strings.Cut(line, "// want ")
			if !ok {
				continue
			}
			for _, rule := range strings.Fields(rules) {
				want = append(want, fmt.Sprintf("%s:%d %s", filepath.ToSlash(rel), i+1, rule))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	return want
}

// pinnedTool reads `NAME := module/cmd@version` from the Makefile, so the test runs the
// very version `make lint` does.
func pinnedTool(t *testing.T, name string) string {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(\S+@v\S+)\s*$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatalf("the Makefile pins no %s", name)
	}
	return string(m[1])
}
