// Package ruleset embeds Vigil's default rules files, written in Falco's rule
// language, and hands them to the rules engine in load order.
//
// Files are loaded in the order of defaultOrder; a user's own files are
// loaded after them, so they can append to or override any list, macro or
// rule defined here.
package ruleset

import (
	"embed"
	"fmt"

	"github.com/vigilsec/vigil/internal/rules"
)

//go:embed *.yaml
var files embed.FS

// defaultOrder lists every embedded file in load order. TestFilesListsEveryEmbeddedFile
// keeps it in step with the *.yaml files of this directory.
var defaultOrder = []string{
	"k8s_audit.yaml",
	"runtime.yaml",
}

// NamePrefix prefixes the name of each embedded file, as it appears in
// diagnostics and in Rule.File.
const NamePrefix = "embedded:"

// Files returns the default ruleset, one rules.File per embedded file, in
// load order. Each call returns fresh slices the caller may keep.
func Files() []rules.File {
	out := make([]rules.File, 0, len(defaultOrder))
	for _, name := range defaultOrder {
		data, err := files.ReadFile(name)
		if err != nil {
			// defaultOrder names only embedded files, which the test checks.
			panic(fmt.Sprintf("ruleset: read embedded %s: %v", name, err))
		}
		out = append(out, rules.File{Name: NamePrefix + name, Data: data})
	}
	return out
}
