//go:build tools

// Package tools only pins the upstream helm command.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
