// Package runtime holds Vigil's end-to-end tests of the runtime (syscall)
// rules: real attacks run in real runc containers while `vigil run`, built
// from the tree with its embedded default rules and the eBPF sensor,
// watches; each scenario must raise its rule within 2 s, attributed to the
// container, and each benign counterpart must raise nothing.
//
// The tests carry the build tag e2eruntime and need root, runc and
// busybox-static (scripts/deps.sh installs them):
//
//	go test -tags e2eruntime -count=1 -v ./test/runtime/
//
// attacker/ is the multi-call program that makes the attacks' system calls
// (mining-pool connection, reverse shell, memfd execution, ptrace, module
// load, terminal), built statically and copied into the container.
package runtime
