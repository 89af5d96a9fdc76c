{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name. */}}
{{- define "bridge.fullname" -}}
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

{{- define "bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pods read: an existing one, or the one this chart renders. */}}
{{- define "bridge.secretName" -}}
{{- default (include "bridge.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "bridge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The helm test pod's labels: never the app's selector labels (the Service must not send
members to it, and the NetworkPolicy names it on its own). */}}
{{- define "bridge.testLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "bridge.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Where the settings come from (the bridge's and the sync's containers): the ConfigMap and
`envFrom`. */}}
{{- define "bridge.envFrom" -}}
- configMapRef:
    name: {{ include "bridge.fullname" . }}
{{- with .Values.envFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The secrets by secretKeyRef, Redis, and `extraEnv` (the bridge's and the sync's containers). */}}
{{- define "bridge.settingsEnv" -}}
{{- with .Values.externalRedis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.externalRedis.existingSecretKey }}
{{- end }}
{{- range $name, $value := .Values.secretEnv }}
{{- if and (or $.Values.existingSecret $value) (not (and (eq $name "REDIS_URL") $.Values.externalRedis.existingSecret)) }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "bridge.secretName" $ }}
      key: {{ $name }}
      optional: {{ not (has $name (list "SESSION_KEY" "ZENDESK_JWT_SECRET")) }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The sync's pods: never the app's selector labels (the Service must not send members to them). */}}
{{- define "bridge.syncLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "bridge.name" . }}-sync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sync
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The in-cluster base URL of the Service. */}}
{{- define "bridge.serviceUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "bridge.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{/* Pods that keep running through disruptions. */}}
{{- define "bridge.effectiveReplicas" -}}
{{- if .Values.demo.enabled }}1{{ else if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/* Impossible or unsafe combinations fail the install with the fix. */}}
{{- define "bridge.validate" -}}
{{- if not .Values.demo.enabled }}
{{- $e := .Values.env }}
{{- $s := .Values.secretEnv }}
{{- if not $e.PUBLIC_URL }}{{ fail "env.PUBLIC_URL is required: the https URL members reach the bridge at (Zendesk's remote login URL is PUBLIC_URL/login)" }}{{ end }}
{{- if not $e.ZENDESK_SUBDOMAIN }}{{ fail "env.ZENDESK_SUBDOMAIN is required: the `acme` of https://acme.zendesk.com" }}{{ end }}
{{- if and (eq (default "imis" $e.MEMBER_DIRECTORY) "imis") (not $e.IMIS_BASE_URL) }}{{ fail "env.IMIS_BASE_URL is required with MEMBER_DIRECTORY=imis" }}{{ end }}
{{- if and (eq (default "imis" $e.MEMBER_DIRECTORY) "file") (not $e.MEMBERS_FILE) }}{{ fail "env.MEMBERS_FILE is required with MEMBER_DIRECTORY=file (mount the file with extraVolumes / extraVolumeMounts)" }}{{ end }}
{{- if not .Values.existingSecret }}
{{- $files := list }}
{{- range .Values.extraEnv }}{{ $files = append $files .name }}{{ end }}
{{- if not (or $s.SESSION_KEY (has "SESSION_KEY_FILE" $files)) }}{{ fail "secretEnv.SESSION_KEY is required (openssl rand -base64 64), or set existingSecret, or mount it as a file and set SESSION_KEY_FILE in extraEnv" }}{{ end }}
{{- if not (or $s.ZENDESK_JWT_SECRET (has "ZENDESK_JWT_SECRET_FILE" $files)) }}{{ fail "secretEnv.ZENDESK_JWT_SECRET is required (Zendesk Admin Center > Single sign-on > JWT), or set existingSecret, or mount it as a file and set ZENDESK_JWT_SECRET_FILE in extraEnv" }}{{ end }}
{{- $oauth := $s.ZENDESK_API_OAUTH_TOKEN }}
{{- $client := and $e.ZENDESK_API_CLIENT_ID $s.ZENDESK_API_CLIENT_SECRET }}
{{- $token := and $e.ZENDESK_API_EMAIL $s.ZENDESK_API_TOKEN }}
{{- if not (or $oauth $client $token) }}{{ fail "Zendesk API credentials are required: secretEnv.ZENDESK_API_OAUTH_TOKEN, or env.ZENDESK_API_CLIENT_ID + secretEnv.ZENDESK_API_CLIENT_SECRET, or env.ZENDESK_API_EMAIL + secretEnv.ZENDESK_API_TOKEN (or existingSecret)" }}{{ end }}
{{- if and (not $e.UNLINKED_END_USERS) (not $s.SMTP_URL) }}{{ fail "env.UNLINKED_END_USERS or secretEnv.SMTP_URL is required: set SMTP_URL and MAIL_FROM so a first sign-in into an existing Zendesk end user is confirmed by an e-mailed code (verify), or choose env.UNLINKED_END_USERS=deny or =link" }}{{ end }}
{{- if and $s.SMTP_URL (not $e.MAIL_FROM) }}{{ fail "env.MAIL_FROM is required with secretEnv.SMTP_URL: the sender of the verification codes" }}{{ end }}
{{- end }}
{{- if and (gt (int (default "0" (toString $e.SYNC_INTERVAL_SECS))) 0) (gt (int (include "bridge.replicas" .)) 1) (not (include "bridge.hasRedis" .)) }}{{ fail "env.SYNC_INTERVAL_SECS with more than one replica needs Redis (externalRedis.existingSecret): every pod would run its own sync. Set Redis, or use the CronJob (sync.enabled) and unset SYNC_INTERVAL_SECS" }}{{ end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}{{ fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}{{ end }}
{{- end }}

{{/* How many replicas the deployment may run: DEPLOYMENT_REPLICAS for the bridge. */}}
{{- define "bridge.replicas" -}}
{{- if .Values.demo.enabled }}1
{{- else if .Values.env.DEPLOYMENT_REPLICAS }}{{ .Values.env.DEPLOYMENT_REPLICAS }}
{{- else if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicas }}
{{- else }}{{ .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* Whether the bridge is given a Redis URL (for NOTES). */}}
{{- define "bridge.hasRedis" -}}
{{- if or .Values.externalRedis.existingSecret .Values.secretEnv.REDIS_URL .Values.existingSecret }}yes{{ end }}
{{- end }}
