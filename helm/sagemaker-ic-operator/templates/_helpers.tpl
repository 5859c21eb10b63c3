{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "ic-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ic-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ic-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ic-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ic-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ic-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "ic-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ic-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator watches every namespace; validates scope. */}}
{{- define "ic-operator.clusterWide" -}}
{{- if eq .Values.scope "cluster" -}}
{{- if .Values.watchNamespaces -}}
{{- fail "watchNamespaces must be empty with scope: cluster (the operator then watches all namespaces)" -}}
{{- end -}}
true
{{- else if ne .Values.scope "namespaced" -}}
{{- fail (printf "scope must be 'namespaced' or 'cluster', not %q" .Values.scope) -}}
{{- end -}}
{{- end -}}

{{/* Watched namespaces as a JSON list (namespaced scope only). */}}
{{- define "ic-operator.namespaces" -}}
{{- $namespaces := .Values.watchNamespaces | default (list .Release.Namespace) -}}
{{- range $namespaces -}}
{{- if contains "*" . -}}
{{- fail (printf "watchNamespaces takes exact names, not globs: %q" .) -}}
{{- end -}}
{{- end -}}
{{- $namespaces | uniq | toJson -}}
{{- end -}}

{{/* "true" when kopf peering is on: asked for, or implied by more than one replica. */}}
{{- define "ic-operator.peering" -}}
{{- if or .Values.peering.enabled (gt (int .Values.replicaCount) 1) -}}
true
{{- end -}}
{{- end -}}

{{- define "ic-operator.peeringName" -}}
{{- default (include "ic-operator.fullname" .) .Values.peering.name -}}
{{- end -}}

{{- define "ic-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
RBAC rules on InferenceComponents and events, shared by the namespaced Role
and the cluster-wide ClusterRole. Exactly the operator contract: no wildcards.
*/}}
{{- define "ic-operator.resourceRules" -}}
- apiGroups: ["sagemaker.ic-operator.io"]
  resources: ["inferencecomponents"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["sagemaker.ic-operator.io"]
  resources: ["inferencecomponents/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- /* spec.endpointRef: ACK's Endpoint objects, read and watched, never written. */}}
- apiGroups: ["sagemaker.services.k8s.aws"]
  resources: ["endpoints"]
  verbs: ["get", "list", "watch"]
{{- end -}}
