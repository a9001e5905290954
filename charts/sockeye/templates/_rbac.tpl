{{/*
RBAC rules, derived from the enabled features (least privilege). Reading: what the rules need.
Writing: only what an enabled feature writes. Never Secrets, ConfigMaps or workloads, and no
wildcards: test/chart/chart.test.ts checks every render of ci/ for that.
*/}}

{{/*
The operator's rules on namespaced objects, for a ClusterRole or a Role. It reads them through
informers (list and watch) and a labelled list of pods, never one object by name: no `get`.
*/}}
{{- define "sockeye.operator.rules" -}}
- apiGroups: [""]
  resources: [services, pods]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
{{- /* ConnectTimeout names the NetworkPolicies that explain a drop. */}}
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
{{- if .Values.operator.annotations }}
{{- /* sockeye.dev/status, summary and since, by merge patch. */}}
- apiGroups: [""]
  resources: [services, pods]
  verbs: [patch]
{{- end }}
{{- if .Values.operator.events }}
{{- /* events.k8s.io/v1 is all sockeye writes (src/kube/events.ts); the API server shows them as core v1 too. */}}
{{- /* list: a new leader reads the Warnings the previous one wrote, so it does not write them twice. */}}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch, list]
{{- end }}
{{- if .Values.reports.enabled }}
{{- /*
OpenReports Reports, one named sockeye per namespace with findings: list to compare with what is
there; the rest on sockeye's own Report only: server-side apply writes it (a patch, and a create
when it is new, which the API server authorizes with the name the patch carries) and it is deleted
once the namespace has no finding.
*/}}
- apiGroups: [openreports.io]
  resources: [reports]
  verbs: [list]
- apiGroups: [openreports.io]
  resources: [reports]
  {{- /* Sharded, each shard keeps its own (sockeye-I); shard 0 removes a `sockeye` left from before. */}}
  resourceNames: [sockeye{{ if gt (int .Values.sharding.shards) 1 }}{{ range $i := until (int .Values.sharding.shards) }}, sockeye-{{ $i }}{{ end }}{{ end }}]
  verbs: [create, patch, delete]
{{- end }}
{{- end }}

{{/* What `sockeye audit` reads, by list only (src/audit/gather.ts); it writes nothing. */}}
{{- define "sockeye.audit.rules" -}}
- apiGroups: [""]
  resources: [services, pods]
  verbs: [list]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list]
{{- end }}
