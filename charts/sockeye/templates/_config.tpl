{{/*
The ONE place where chart values become operator settings.

`sockeye operator` reads each setting from a flag, a SOCKEYE_* environment variable or a config
file (src/config/operator.ts, OPERATOR_OPTIONS). The chart uses environment variables with literal
values or the downward API: they need no ConfigMap volume, show in `kubectl describe pod`, and a
changed value rolls the Deployment by itself. Keep this list in step with OPERATOR_OPTIONS.
*/}}
{{- define "sockeye.operator.env" -}}
- name: SOCKEYE_INTERVAL
  value: {{ .Values.operator.interval | quote }}
- name: SOCKEYE_INTERVAL_JITTER
  value: {{ .Values.operator.intervalJitter | toString | quote }}
- name: SOCKEYE_TIMEOUT
  value: {{ .Values.operator.timeout | quote }}
- name: SOCKEYE_CONCURRENCY
  value: {{ .Values.operator.concurrency | toString | quote }}
- name: SOCKEYE_PROBE_THREAD
  value: {{ .Values.operator.probeThread | toString | quote }}
- name: SOCKEYE_CONFIRMATIONS
  value: {{ .Values.operator.confirmations | toString | quote }}
{{- with .Values.watch.namespaces }}
- name: SOCKEYE_NAMESPACES
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.watch.excludeNamespaces }}
- name: SOCKEYE_EXCLUDE_NAMESPACES
  value: {{ join "," . | quote }}
{{- end }}
- name: SOCKEYE_EVENTS
  value: {{ .Values.operator.events | toString | quote }}
- name: SOCKEYE_ANNOTATIONS
  value: {{ .Values.operator.annotations | toString | quote }}
- name: SOCKEYE_REPORTS
  value: {{ .Values.reports.enabled | toString | quote }}
- name: SOCKEYE_PROBE_SELECTORLESS_SERVICES
  value: {{ .Values.operator.probeSelectorlessServices | toString | quote }}
- name: SOCKEYE_PROBE_HOST_NETWORK_PODS
  value: {{ .Values.operator.probeHostNetworkPods | toString | quote }}
{{- with .Values.operator.serviceCIDRs }}
- name: SOCKEYE_SERVICE_CIDRS
  value: {{ join "," . | quote }}
{{- end }}
- name: SOCKEYE_CHECK_CLUSTER_IP
  value: {{ .Values.operator.checkClusterIP | toString | quote }}
- name: SOCKEYE_CHECK_NODE_PORTS
  value: {{ .Values.operator.checkNodePorts | toString | quote }}
- name: SOCKEYE_CHECK_LOAD_BALANCERS
  value: {{ .Values.operator.checkLoadBalancers | toString | quote }}
{{- if and (include "sockeye.sharded" .) (hasKey . "sockeyeShard") }}
- name: SOCKEYE_SHARDS
  value: {{ .Values.sharding.shards | toString | quote }}
- name: SOCKEYE_SHARD
  value: {{ .sockeyeShard | toString | quote }}
{{- end }}
- name: SOCKEYE_LEADER_ELECT
  value: {{ .Values.leaderElection.enabled | toString | quote }}
- name: SOCKEYE_LEASE_NAME
  value: {{ include "sockeye.leaseName" . | quote }}
- name: SOCKEYE_LEASE_NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: SOCKEYE_LEASE_DURATION
  value: {{ .Values.leaderElection.leaseDuration | quote }}
- name: SOCKEYE_RENEW_DEADLINE
  value: {{ .Values.leaderElection.renewDeadline | quote }}
- name: SOCKEYE_RETRY_PERIOD
  value: {{ .Values.leaderElection.retryPeriod | quote }}
{{- /* Both address families: an IPv6-only cluster's kubelet must reach /healthz. */}}
- name: SOCKEYE_HTTP_HOST
  value: "::"
- name: SOCKEYE_HTTP_PORT
  value: {{ .Values.operator.httpPort | toString | quote }}
- name: SOCKEYE_METRICS_SECURE
  value: {{ .Values.metrics.secure | toString | quote }}
- name: SOCKEYE_METRICS_PORT
  value: {{ .Values.operator.metricsPort | toString | quote }}
{{- /* Who the prober is: Event reportingInstance, Lease holder, and the source its NetworkPolicy checks assume. */}}
- name: SOCKEYE_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: SOCKEYE_POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- /* Whose data path a ClusterIP probe crosses: named when it does not forward. */}}
- name: SOCKEYE_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: SOCKEYE_POD_LABELS
  value: {{ include "sockeye.operator.podLabelList" . | quote }}
{{- end }}

{{/* The operator pods' labels as key=value,key=value (the downward API has no env form for all labels). */}}
{{- define "sockeye.operator.podLabels" -}}
{{- $selector := include "sockeye.operator.shardSelectorLabels" . | fromYaml }}
{{- toYaml (merge $selector .Values.podLabels .Values.commonLabels) }}
{{- end }}

{{- define "sockeye.operator.podLabelList" -}}
{{- $pairs := list }}
{{- range $key, $value := (include "sockeye.operator.podLabels" . | fromYaml) }}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) }}
{{- end }}
{{- join "," (sortAlpha $pairs) }}
{{- end }}

{{/*
The metric names the PrometheusRule alerts use (docs/design.md "Metrics", prefix sockeye_). Keep in step
with the operator's /metrics.
*/}}
{{- define "sockeye.metric.serviceTargets" -}}sockeye_service_targets{{- end }}
{{- define "sockeye.metric.serviceOpenTargets" -}}sockeye_service_open_targets{{- end }}
{{- define "sockeye.metric.findings" -}}sockeye_findings{{- end }}
{{- define "sockeye.metric.apiWrites" -}}sockeye_api_writes_total{{- end }}
{{/*
The `result` values of sockeye_api_writes_total that are not failures: a patch that went through
(ok), an Event created, patched or found already there (a retried create had landed), a try that
will be retried, an Event the spam filter held back on purpose, and a write dropped because its
term of leadership ended (`fenced`: the next leader judges everything again) (src/kube/events.ts).
*/}}
{{- define "sockeye.metric.apiWriteNotFailed" -}}ok|created|patched|exists|retry|spam-filtered|fenced{{- end }}
