{{/* The chart name: app.kubernetes.io/name. */}}
{{- define "kev.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name every object (and the Lease) is named after: the release name
when it contains the chart name (release `kev` gives `kev`, as deploy/ names
its objects), else `<release>-<chart>`.
*/}}
{{- define "kev.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kev.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "kev.labels" -}}
helm.sh/chart: {{ include "kev.chart" . }}
{{ include "kev.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kev.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Deployment's selector, and the PDB's and the Service's. */}}
{{- define "kev.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kev.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kev.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "kev.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kev.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: the existing ServiceAccount to run as (serviceAccount.create is false)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when more than one replica runs: high availability. */}}
{{- define "kev.ha" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{/* "true" when leader election is on: explicitly, or for replicas > 1. */}}
{{- define "kev.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (include "kev.ha" .) }}true{{ end }}
{{- end }}

{{/* "true" when the state volume is the PersistentVolumeClaim. */}}
{{- define "kev.persistent" -}}
{{- if and .Values.persistence.enabled (not (include "kev.ha" .)) }}true{{ end }}
{{- end }}

{{- define "kev.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-state" (include "kev.fullname" .)) }}
{{- end }}

{{/*
kev.yaml: .Values.config with metrics.listen on metrics.port and, with leader
election, the leaderElection section (the chart's keys win over the user's).
*/}}
{{- define "kev.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $metrics := deepCopy ($config.metrics | default dict) }}
{{- $_ := set $metrics "listen" (printf "0.0.0.0:%d" (int .Values.metrics.port)) }}
{{- $_ = set $config "metrics" $metrics }}
{{- if include "kev.leaderElection" . }}
{{- $le := dict
      "lease" (include "kev.fullname" .)
      "namespace" .Release.Namespace
      "identity" "${POD_NAME}"
      "leaseDuration" .Values.leaderElection.leaseDuration
      "renewEvery" .Values.leaderElection.renewEvery }}
{{- $_ = set $config "leaderElection" $le }}
{{- end }}
{{- toYaml $config }}
{{- end }}
