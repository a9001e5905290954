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
