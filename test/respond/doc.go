// Package respond holds the end-to-end tests of forensic capture and the
// containment actions against real runc containers: a busybox-static root
// filesystem under an overlay mount (so the container has a writable layer
// like Docker's), its own network namespace joined to the host by a veth
// pair, and 50 processes.
//
// The tests carry the build tag e2erespond and need root, runc, iproute2,
// nftables and busybox-static (scripts/deps.sh installs them):
//
//	go test -tags e2erespond -count=1 -v ./test/respond/
package respond
