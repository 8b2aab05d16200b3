// Package app wires Vigil's domain packages into the commands: which event
// sources exist, how rules files are found, and the run and replay pipelines.
package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/sysevent"
	"github.com/vigilsec/vigil/ruleset"
)

// Sources returns every event source Vigil knows, in a fixed order.
func Sources() []event.Source {
	return []event.Source{sysevent.Source{}, k8saudit.NewSource()}
}

// SourceByName returns the named source.
func SourceByName(name string) (event.Source, bool) {
	for _, s := range Sources() {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// ReadRulesFiles reads rules files in the order given; a directory stands for
// its *.yaml and *.yml files in name order, as Falco reads rules directories.
// "embedded:" stands for the whole embedded default ruleset and
// "embedded:NAME" for one of its files, so that local files can extend the
// defaults. With no paths it returns the embedded default ruleset.
func ReadRulesFiles(paths []string) ([]rules.File, error) {
	if len(paths) == 0 {
		return ruleset.Files(), nil
	}
	var files []rules.File
	for _, p := range paths {
		if strings.HasPrefix(p, ruleset.NamePrefix) {
			n := len(files)
			for _, f := range ruleset.Files() {
				if p == ruleset.NamePrefix || f.Name == p {
					files = append(files, f)
				}
			}
			if len(files) == n {
				return nil, fmt.Errorf("read rules %s: no such embedded rules file", p)
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read rules %s: %w", p, err)
		}
		names := []string{p}
		if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("read rules directory %s: %w", p, err)
			}
			names = names[:0]
			for _, e := range entries {
				if ext := strings.ToLower(filepath.Ext(e.Name())); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
					names = append(names, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(names)
			if len(names) == 0 {
				return nil, fmt.Errorf("read rules directory %s: no *.yaml or *.yml files", p)
			}
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("read rules %s: %w", n, err)
			}
			files = append(files, rules.File{Name: n, Data: data})
		}
	}
	return files, nil
}

// LoadRules reads and compiles rules files (the embedded defaults when paths
// is empty) for every known source.
func LoadRules(paths []string) (*rules.Ruleset, rules.Diagnostics, error) {
	files, err := ReadRulesFiles(paths)
	if err != nil {
		return nil, nil, err
	}
	rs, diags := rules.Load(files, rules.Options{Sources: Sources()})
	return rs, diags, nil
}
