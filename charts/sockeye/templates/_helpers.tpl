{{/*
Names and labels shared by every template.
*/}}

{{- define "sockeye.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
FULLNAME: the prefix of every object name. Truncated to leave room for suffixes such as
"-operator" and "-audit" within the 63 characters of a label value.
*/}}
{{- define "sockeye.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sockeye.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sockeye.labels" -}}
helm.sh/chart: {{ include "sockeye.chart" . }}
app.kubernetes.io/name: {{ include "sockeye.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sockeye
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The labels that select the operator pods (Deployment, Service, PDB, topology spread). */}}
{{- define "sockeye.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sockeye.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "sockeye.operator.labels" -}}
{{ include "sockeye.labels" . }}
app.kubernetes.io/component: operator
{{- include "sockeye.operator.shardLabels" . }}
{{- end }}

{{/*
Sharding (sharding.shards > 1): deployment.yaml renders one Deployment per shard and sets
`sockeyeShard` on the root context for it; the objects of one shard (its Deployment, pods and
PodDisruptionBudget) then carry `sockeye.dev/shard`, so the Deployments never select each other's
pods. With one shard nothing is added: the objects are today's.
*/}}
{{- define "sockeye.sharded" -}}
{{- if gt (int .Values.sharding.shards) 1 }}true{{ end }}
{{- end }}

{{- define "sockeye.operator.shardLabels" -}}
{{- if and (include "sockeye.sharded" .) (hasKey . "sockeyeShard") }}
sockeye.dev/shard: {{ .sockeyeShard | quote }}
{{- end }}
{{- end }}

{{/* The labels that select the operator pods of the shard being rendered (all of them with one shard). */}}
{{- define "sockeye.operator.shardSelectorLabels" -}}
{{ include "sockeye.operator.selectorLabels" . }}
{{- include "sockeye.operator.shardLabels" . }}
{{- end }}

{{/* The name of the shard's objects: FULLNAME-operator, with -INDEX when sharded. */}}
{{- define "sockeye.operator.name" -}}
{{- include "sockeye.fullname" . }}-operator{{ if and (include "sockeye.sharded" .) (hasKey . "sockeyeShard") }}-{{ .sockeyeShard }}{{ end }}
{{- end }}

{{- define "sockeye.audit.labels" -}}
{{ include "sockeye.labels" . }}
app.kubernetes.io/component: audit
{{- end }}

{{- define "sockeye.operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sockeye.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sockeye.audit.serviceAccountName" -}}
{{- printf "%s-audit" (include "sockeye.fullname" .) }}
{{- end }}

{{/* Every shard's Lease (the operator appends -INDEX to the name when sharded), quoted, comma-separated. */}}
{{- define "sockeye.leaseNames" -}}
{{- $base := include "sockeye.leaseName" . }}
{{- if include "sockeye.sharded" . }}
{{- $names := list }}
{{- range $i := until (int .Values.sharding.shards) }}
{{- $names = append $names (printf "%s-%d" $base $i | quote) }}
{{- end }}
{{- join ", " $names }}
{{- else }}
{{- $base | quote }}
{{- end }}
{{- end }}

{{- define "sockeye.leaseName" -}}
{{- default (printf "%s-operator" (include "sockeye.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "sockeye.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The namespace-scoped mode: watch.namespaces is set, so Roles replace the ClusterRole. */}}
{{- define "sockeye.namespaced" -}}
{{- if .Values.watch.namespaces }}true{{ end }}
{{- end }}

{{/* Settings that constrain each other; failing here beats a crash-looping pod. */}}
{{- define "sockeye.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled: without it every replica would probe and write" }}
{{- end }}
{{- if and .Values.watch.namespaces .Values.watch.excludeNamespaces }}
{{- fail "watch.excludeNamespaces applies to the cluster-wide mode only; with watch.namespaces set, list just the namespaces to watch" }}
{{- end }}
{{- if and (not .Values.rbac.create) (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "with rbac.create and serviceAccount.create both false, set serviceAccount.name to an account that already has sockeye's permissions" }}
{{- end }}
{{- end }}

{{/* The metrics Service port's name, which says its scheme. */}}
{{- define "sockeye.metrics.portName" -}}
{{- if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end }}
{{- end }}

{{/*
A Kubernetes memory quantity (256Mi, 1Gi, 500M, 1e9, 268435456; a YAML number arrives as a float)
in whole MiB, rounded down; fails naming `what` when it is not one.
*/}}
{{- define "sockeye.memoryMiB" -}}
{{- $q := toString .quantity }}
{{- $pattern := "^([0-9]+(\\.[0-9]+)?([eE][+]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$" }}
{{- if not (regexMatch $pattern $q) }}
{{- fail (printf "%s %q is not a memory quantity (e.g. 256Mi, 1Gi, 500M, 268435456)" .what $q) }}
{{- end }}
{{- $units := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 }}
{{- $bytes := mulf (float64 (regexReplaceAll $pattern $q "${1}")) (get $units (regexReplaceAll $pattern $q "${4}")) }}
{{- divf $bytes 1048576 | floor | int }}
{{- end }}

{{/*
Node's memory settings for one container, from its memory limit (dict: resources, percent,
extraEnv, what: the values path named in errors). V8 sizes its heap from the
node's memory, not the container's, and lets it grow far past a small limit between collections, so
the kernel OOM-kills the pod; --max-old-space-size at operator.heapLimitPercent of
the container's limits.memory makes V8 collect before that (the rest of the limit is for the young
generation, code and native memory). --max-semi-space-size at 1/64 of the limit (4 MiB at 256Mi)
bounds the young generation: V8 otherwise grows it to 64 MiB semi-spaces (134 MB committed, measured
at 20,000 pods) whatever the old-space limit; 4 MiB took RSS from ~200 to ~185 MB against 8 MiB at
that size. MALLOC_ARENA_MAX=2 keeps glibc from holding an arena per
thread. A changed limit changes the flag; no limit (or heapLimitPercent 0): no flag. A NODE_OPTIONS or
MALLOC_ARENA_MAX in the container's extraEnv replaces the chart's (the API server keeps only one of two
entries of the same name, and server-side apply refuses them). The operator, the webhook and the
audit Job each get it from their own resources.
*/}}
{{- define "sockeye.memoryEnv" -}}
{{- $own := list }}
{{- range .extraEnv }}
{{- $own = append $own .name }}
{{- end }}
{{- $limit := dig "limits" "memory" "" (.resources | default dict) }}
{{- $percent := .percent | int }}
{{- if and (toString $limit) (gt $percent 0) (not (has "NODE_OPTIONS" $own)) }}
{{- $mib := include "sockeye.memoryMiB" (dict "quantity" $limit "what" (printf "%s.limits.memory" .what)) | int }}
- name: NODE_OPTIONS
  value: {{ printf "--max-old-space-size=%d --max-semi-space-size=%d" (div (mul $mib $percent) 100) (max 1 (div $mib 64)) | quote }}
{{- end }}
{{- if not (has "MALLOC_ARENA_MAX" $own) }}
- name: MALLOC_ARENA_MAX
  value: "2"
{{- end }}
{{- end }}

{{- define "sockeye.operator.memoryEnv" -}}
{{- include "sockeye.memoryEnv" (dict "resources" .Values.resources "percent" .Values.operator.heapLimitPercent "extraEnv" .Values.operator.extraEnv "what" "resources") }}
{{- end }}
