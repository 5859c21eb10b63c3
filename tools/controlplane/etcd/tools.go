//go:build tools

// Package tools pins the command this module builds, so go.sum records it.
package tools

import _ "go.etcd.io/etcd/server/v3"
