// Package benchscan measures `vigil scan fs` and `vigil scan image` against
// Syft and Trivy on the same inputs: a Debian bookworm minbase root
// filesystem made by debootstrap and a docker-save image of more than 1 GB
// (the minbase as base layer, then real binaries and random content)
// written with go-containerregistry. It reports wall time, peak RSS, files
// per second and the packages each tool found in a CycloneDX SBOM.
//
// The test runs only with VIGIL_BENCH_SCAN=1; see docs/scanning.md
// ("Performance") for the variables and the make target.
package benchscan
