// Package argocdhealth runs the repository's Argo CD health checks through Argo CD's own code.
//
// The lupa test in tests/argocd is a fast approximation; this one uses the engine a real Argo CD
// runs: util/lua's VM (gopher-lua with the library set Argo CD opens, the `obj` global, the
// one-second budget, the conversion of the returned table) and gitops-engine's GetResourceHealth,
// which the application controller calls with the argocd-cm overrides. Both are checked because
// they can disagree: the engine may decide before the script runs.
package argocdhealth

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// customizationsDir is Argo CD's resource_customizations layout: this repository's, or the
// directory in ARGOCD_CUSTOMIZATIONS (the pytest wrapper points it at a broken copy to prove
// that a wrong script fails here).
func customizationsDir() string {
	if dir := os.Getenv("ARGOCD_CUSTOMIZATIONS"); dir != "" {
		return dir
	}
	return "../../deploy/argocd/resource_customizations"
}

// healthTests is the health_test.yaml format upstream's util/lua tests read.
type healthTests struct {
	Tests []struct {
		InputPath    string              `json:"inputPath"`
		HealthStatus health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type healthCase struct {
	name     string // <group>/<kind>/<inputPath>, as upstream names its subtests
	script   string
	input    string
	expected health.HealthStatus
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &unstructured.Unstructured{Object: obj}
}

// collectCases walks every health.lua like upstream's TestLuaHealthScript does.
func collectCases(t *testing.T) []healthCase {
	t.Helper()
	customizations := customizationsDir()
	var cases []healthCase
	err := filepath.WalkDir(customizations, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "health.lua" {
			return err
		}
		dir := filepath.Dir(path)
		script, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			return err
		}
		var tests healthTests
		if err := yaml.UnmarshalStrict(data, &tests); err != nil {
			return err
		}
		prefix, err := filepath.Rel(customizations, dir)
		if err != nil {
			return err
		}
		for _, test := range tests.Tests {
			cases = append(cases, healthCase{
				name:     filepath.ToSlash(filepath.Join(prefix, test.InputPath)),
				script:   string(script),
				input:    filepath.Join(dir, test.InputPath),
				expected: test.HealthStatus,
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no health_test.yaml cases under %s", customizations)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

// TestLuaHealthScript runs each case through lua.VM, the way upstream tests its built-in scripts,
// but with the libraries of a script configured in argocd-cm (useOpenLibs defaults to false there;
// upstream's built-ins get them all) and then with all of them.
func TestLuaHealthScript(t *testing.T) {
	for _, tc := range collectCases(t) {
		for _, openLibs := range []bool{false, true} {
			name := tc.name
			if openLibs {
				name += "/useOpenLibs"
			}
			t.Run(name, func(t *testing.T) {
				obj := readObject(t, tc.input)
				vm := lua.VM{UseOpenLibs: openLibs}
				result, err := vm.ExecuteHealthLua(obj, tc.script)
				if err != nil {
					t.Fatal(err)
				}
				if result == nil || *result != tc.expected {
					t.Fatalf("got %+v, want %+v", result, tc.expected)
				}
			})
		}
	}
}

// TestControllerHealth is what the application controller shows: gitops-engine's
// GetResourceHealth with the script as the override for the object's group/kind (what
// argocd-cm's resource.customizations.health.<group>_<kind> becomes). For a terminating
// object the engine shows the script's deletionMessage, or else its own "Pending deletion".
func TestControllerHealth(t *testing.T) {
	for _, tc := range collectCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			obj := readObject(t, tc.input)
			overrides := lua.ResourceHealthOverrides{
				lua.GetConfigMapKey(obj.GroupVersionKind()): appv1.ResourceOverride{HealthLua: tc.script},
			}
			result, err := health.GetResourceHealth(obj, overrides)
			if err != nil {
				t.Fatal(err)
			}
			want := health.HealthStatus{Status: tc.expected.Status, Message: tc.expected.Message}
			if obj.GetDeletionTimestamp() != nil {
				if tc.expected.DeletionMessage == "" {
					t.Fatal("a terminating object: its case needs the deletionMessage Argo CD shows")
				}
				want.Message = tc.expected.DeletionMessage
			}
			if result == nil || *result != want {
				t.Fatalf("got %+v, want %+v", result, want)
			}
		})
	}
}
