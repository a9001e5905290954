// Pins the OpenReports API (openreports.io/v1alpha1 Report): the policy-report tests install the
// CRDs of this release (its config/crd/), fetched through the Go module proxy by
// cluster/fetch-modules.sh. No Go code is built from it.
module sockeye.dev/tools/openreports

go 1.26.0

require github.com/openreports/reports-api v0.2.1
