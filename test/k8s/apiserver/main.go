// Command kube-apiserver is an unmodified upstream kube-apiserver, built from
// k8s.io/kubernetes as a library so that Vigil's Kubernetes tests run against
// a real control plane. It lives in its own module so that the main module's
// dependency graph never sees k8s.io/kubernetes.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
