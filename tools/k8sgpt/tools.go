//go:build tools

// Package tools only pins the upstream k8sgpt command (a benchmark peer, not built by CI).
package tools

import _ "github.com/k8sgpt-ai/k8sgpt"
