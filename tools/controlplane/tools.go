//go:build tools

// Package tools pins the commands this module builds, so go.sum records them:
// the control plane (kube-apiserver) and what a local node runs (kubelet,
// kube-scheduler, kube-controller-manager, kube-proxy).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
