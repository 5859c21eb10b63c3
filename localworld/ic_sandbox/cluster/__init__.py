"""The local Kubernetes control plane: etcd and kube-apiserver built from source and
cached (binaries), their PKI (certs), the running pair (controlplane) and the one way
everything here runs kubectl (kubectl)."""
