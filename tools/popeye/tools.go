//go:build tools

// Package tools only pins the upstream popeye command (a benchmark peer, not built by CI).
package tools

import _ "github.com/derailed/popeye"
