// Package e2e holds Vigil's end-to-end tests: TestMain builds the vigil
// binary once, and the tests run its subcommands as a user would, asserting
// the command-line contracts (output formats, exit codes, files written).
//
// Run them with `go test ./test/e2e/` from the module root; -short skips the
// large-input and throughput cases, -update rewrites the golden files in
// testdata/. bench-replay.sh prints replay throughput outside `go test`.
package e2e
