//go:build tools

// Package tools only pins the upstream promtool command (the chart's alert rules are checked and
// unit-tested with it).
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
