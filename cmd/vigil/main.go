// Command vigil is the Vigil security platform: rules engine, event sources,
// scanners and server in one binary.
package main

import (
	"os"

	"github.com/vigilsec/vigil/internal/cli"
)

// Set by -ldflags at build time.
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.BuildInfo{Version: version, Commit: commit}))
}
