{{/*
Helpers of the TaskFlow chart. Every resource name, label set, Secret key and
in-cluster address is defined here once and used everywhere else.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "taskflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name: fullnameOverride, or the release name when it
already contains the chart name, else "<release>-<chart>". Component suffixes
("-postgresql-hl" is the longest) and the StatefulSet's revision label must still
fit Kubernetes' 63-character limit, so the prefix is limited to 41 characters.
*/}}
{{- define "taskflow.fullname" -}}
{{- $name := "" }}
{{- if .Values.fullnameOverride }}
{{- $name = .Values.fullnameOverride }}
{{- else }}
{{- $base := default .Chart.Name .Values.nameOverride }}
{{- if contains $base .Release.Name }}
{{- $name = .Release.Name }}
{{- else }}
{{- $name = printf "%s-%s" .Release.Name $base }}
{{- end }}
{{- end }}
{{- if gt (len $name) 41 }}
{{- fail (printf "the name prefix %q is %d characters long; at most 41 fit Kubernetes' name limits. Use a shorter release name or set fullnameOverride." $name (len $name)) }}
{{- end }}
{{- $name }}
{{- end }}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "taskflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource of the release. */}}
{{- define "taskflow.labels" -}}
helm.sh/chart: {{ include "taskflow.chart" . }}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "taskflow.name" . }}
{{- end }}

{{/* Labels that identify the release. */}}
{{- define "taskflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of a component's resources: "<fullname>-<component>".
Usage: include "taskflow.componentName" (dict "ctx" . "component" "backend")
*/}}
{{- define "taskflow.componentName" -}}
{{- printf "%s-%s" (include "taskflow.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of a component's resources. Same arguments as taskflow.componentName. */}}
{{- define "taskflow.componentLabels" -}}
{{ include "taskflow.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of a component's pods. Same arguments as taskflow.componentName. */}}
{{- define "taskflow.componentSelectorLabels" -}}
{{ include "taskflow.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of the ServiceAccount the pods run as. */}}
{{- define "taskflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference of a component. The tag defaults to the chart's appVersion.
Usage: include "taskflow.image" (dict "ctx" . "image" .Values.backend.image "key" "backend.image.tag")
*/}}
{{- define "taskflow.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag }}
{{- if eq (toString $tag) "latest" }}
{{- fail (printf "%s: the image tag \"latest\" is not allowed (%s); set an explicit tag, for Nix-built images the content tag the build prints" .key .image.repository) }}
{{- end }}
{{- printf "%s:%s" .image.repository (toString $tag) }}
{{- end }}

{{/* ---------------------------------------------------------------------------
Secret keys. These names are the whole contract between the Secret, the pods and
an `existingSecret` a user creates; docs/secrets.md lists them.
--------------------------------------------------------------------------- */}}
{{- define "taskflow.secretKey.databaseUrl" -}}database-url{{- end }}
{{- define "taskflow.secretKey.jwtSecret" -}}jwt-secret{{- end }}
{{- define "taskflow.secretKey.postgresPassword" -}}postgres-password{{- end }}
{{- define "taskflow.secretKey.llmApiKey" -}}llm-api-key{{- end }}

{{/* Name of the Secret holding the release's secrets (created or existing). */}}
{{- define "taskflow.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "taskflow.fullname" . }}
{{- end }}
{{- end }}

{{/*
Values of the chart-created Secret, as a dict of plain strings keyed by the Secret
keys. Existing values are read back from the cluster (lookup), so an upgrade keeps
them; only a first install generates new ones. `helm template` and client-side
dry runs cannot read the cluster and therefore always show freshly generated
values. The result is computed once per rendering and cached, so that the Secret
and the checksum annotations of the pods see the same values.
The provider's API key is never generated. It is stored while llm.apiKey holds
it, so removing it from the values removes it from the Secret; without llm.apiKey
and llm.existingSecret, a key stored in the live Secret by `set-secret` is kept
(taskflow.storedLlmApiKey).
*/}}
{{- define "taskflow.generatedSecretValues" -}}
{{- $cache := .Values.__taskflowSecretCache | default dict }}
{{- if not $cache }}
{{- $stored := dict }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "taskflow.fullname" .) }}
{{- if and $existing $existing.data }}
{{- $stored = $existing.data }}
{{- end }}
{{- $jwtKey := include "taskflow.secretKey.jwtSecret" . }}
{{- $pwKey := include "taskflow.secretKey.postgresPassword" . }}
{{- $jwt := "" }}
{{- if hasKey $stored $jwtKey }}
{{- $jwt = index $stored $jwtKey | b64dec }}
{{- else }}
{{- /* 64 hexadecimal characters from 48 random bytes. */}}
{{- $jwt = randBytes 48 | sha256sum }}
{{- end }}
{{- $_ := set $cache $jwtKey $jwt }}
{{- if .Values.postgresql.enabled }}
{{- $password := "" }}
{{- if hasKey $stored $pwKey }}
{{- $password = index $stored $pwKey | b64dec }}
{{- else }}
{{- /* Letters and digits only, so that it can stand in a URL unescaped. */}}
{{- $password = randAlphaNum 32 }}
{{- end }}
{{- $_ := set $cache $pwKey $password }}
{{- $_ := set $cache (include "taskflow.secretKey.databaseUrl" .) (include "taskflow.inClusterDatabaseUrl" (dict "ctx" . "password" $password)) }}
{{- end }}
{{- $llmKey := include "taskflow.secretKey.llmApiKey" . }}
{{- if and .Values.llm.apiKey (not .Values.llm.existingSecret) }}
{{- $_ := set $cache $llmKey .Values.llm.apiKey }}
{{- else if include "taskflow.storedLlmApiKey" . }}
{{- $_ := set $cache $llmKey (index $stored $llmKey | b64dec) }}
{{- end }}
{{- $_ := set .Values "__taskflowSecretCache" $cache }}
{{- end }}
{{- toJson $cache }}
{{- end }}

{{/*
Connection URL of the in-chart PostgreSQL. The password is inserted URL-escaped.
Usage: include "taskflow.inClusterDatabaseUrl" (dict "ctx" . "password" $pw)
*/}}
{{- define "taskflow.inClusterDatabaseUrl" -}}
{{- $pg := .ctx.Values.postgresql }}
{{- printf "postgres://%s:%s@%s:%d/%s" (urlquery $pg.auth.username) (urlquery .password) (include "taskflow.componentName" (dict "ctx" .ctx "component" "postgresql")) (int $pg.service.port) (urlquery $pg.auth.database) }}
{{- end }}

{{/*
Where the backend finds DATABASE_URL: {"name": Secret, "key": key}.
*/}}
{{- define "taskflow.databaseUrlRef" -}}
{{- if .Values.postgresql.enabled }}
{{- dict "name" (include "taskflow.secretName" .) "key" (include "taskflow.secretKey.databaseUrl" .) | toJson }}
{{- else }}
{{- $name := required "postgresql.enabled is false, so the backend needs an external database: set externalDatabase.existingSecret to the name of a Secret holding its connection URL (postgres://user:password@host:5432/database)" .Values.externalDatabase.existingSecret }}
{{- $key := required "postgresql.enabled is false: set externalDatabase.existingSecretKey to the key of externalDatabase.existingSecret that holds the connection URL" .Values.externalDatabase.existingSecretKey }}
{{- dict "name" $name "key" $key | toJson }}
{{- end }}
{{- end }}

{{/*
Checksum that changes whenever the secrets the backend reads change: the
generated values, or the data of the user's Secrets as far as the cluster can be
read (it cannot under `helm template`).
*/}}
{{- define "taskflow.secretChecksum" -}}
{{- $parts := list }}
{{- if .Values.existingSecret }}
{{- $s := lookup "v1" "Secret" .Release.Namespace .Values.existingSecret }}
{{- $parts = append $parts (dict "name" .Values.existingSecret "data" (($s | default dict).data | default dict)) }}
{{- else }}
{{- $parts = append $parts (include "taskflow.generatedSecretValues" . | fromJson) }}
{{- end }}
{{- if not .Values.postgresql.enabled }}
{{- $ref := include "taskflow.databaseUrlRef" . | fromJson }}
{{- $s := lookup "v1" "Secret" .Release.Namespace $ref.name }}
{{- $parts = append $parts (dict "ref" $ref "data" (($s | default dict).data | default dict)) }}
{{- end }}
{{- if .Values.llm.existingSecret }}
{{- $ref := include "taskflow.llmApiKeyRef" . | fromJson }}
{{- $s := lookup "v1" "Secret" .Release.Namespace $ref.name }}
{{- $parts = append $parts (dict "ref" $ref "data" (($s | default dict).data | default dict)) }}
{{- end }}
{{- toJson $parts | sha256sum }}
{{- end }}

{{/* ---------------------------------------------------------------------------
The assistant (docs/assistant.md).
--------------------------------------------------------------------------- */}}

{{/*
Where the backend finds LLM_API_KEY: {"name": Secret, "key": key}, or nothing when
no key is configured (the offline assistant answers, and LLM_API_KEY is not set).
In order: llm.existingSecret, llm.apiKey, a key stored in the release's Secret
(taskflow.storedLlmApiKey).
*/}}
{{- define "taskflow.llmApiKeyRef" -}}
{{- $llm := .Values.llm }}
{{- if not (regexMatch "^[!-~]*$" $llm.apiKey) }}
{{- fail "llm.apiKey must consist of printable ASCII characters without spaces or line breaks (the value is not shown here)" }}
{{- end }}
{{- if regexMatch "/chat/completions/*$" $llm.baseUrl }}
{{- fail (printf "llm.baseUrl (%s) must be the API base such as https://api.openai.com/v1, without /chat/completions: the backend appends that itself" $llm.baseUrl) }}
{{- end }}
{{- if and $llm.apiKey $llm.existingSecret }}
{{- fail "llm.apiKey and llm.existingSecret are both set: keep the provider's API key in one place, either in the values (llm.apiKey) or in your own Secret (llm.existingSecret and llm.existingSecretKey)" }}
{{- end }}
{{- if $llm.existingSecret }}
{{- $key := required "llm.existingSecret is set: set llm.existingSecretKey to the key of that Secret holding the provider's API key" $llm.existingSecretKey }}
{{- dict "name" $llm.existingSecret "key" $key | toJson }}
{{- else if $llm.apiKey }}
{{- if .Values.existingSecret }}
{{- fail (printf "llm.apiKey is set, but with existingSecret (%q) the chart creates no Secret to keep it in: add the key to a Secret of your own (it may be %q) and set llm.existingSecret and llm.existingSecretKey instead of llm.apiKey" .Values.existingSecret .Values.existingSecret) }}
{{- end }}
{{- dict "name" (include "taskflow.secretName" .) "key" (include "taskflow.secretKey.llmApiKey" .) | toJson }}
{{- else if include "taskflow.storedLlmApiKey" . }}
{{- dict "name" (include "taskflow.secretName" .) "key" (include "taskflow.secretKey.llmApiKey" .) | toJson }}
{{- end }}
{{- end }}

{{/*
Annotation of the release's Secret that marks its llm-api-key as stored there by
`nix run .#set-secret -- llm-api-key` (value "stored"), rather than written from
llm.apiKey: only a key so marked is kept when llm.apiKey is left out.
*/}}
{{- define "taskflow.storedLlmApiKeyAnnotation" -}}taskflow/llm-api-key{{- end }}

{{/*
"true" when the backend takes the provider's key stored in the release's own live
Secret: neither llm.apiKey nor llm.existingSecret is set, the chart creates the
Secret (no existingSecret), and the Secret in the cluster holds a non-empty
llm-api-key and carries the annotation above with the value "stored". Empty
otherwise, and always under `helm template`, which cannot read the cluster.
*/}}
{{- define "taskflow.storedLlmApiKey" -}}
{{- $llm := .Values.llm }}
{{- if not (or $llm.apiKey $llm.existingSecret .Values.existingSecret) }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "taskflow.fullname" .) | default dict }}
{{- $annotations := (($live.metadata | default dict).annotations | default dict) }}
{{- $data := $live.data | default dict }}
{{- $key := include "taskflow.secretKey.llmApiKey" . }}
{{- if and (eq (index $annotations (include "taskflow.storedLlmApiKeyAnnotation" .) | default "") "stored") (index $data $key) }}
{{- if not (regexMatch "^[!-~]+$" (index $data $key | b64dec)) }}
{{- fail (printf "the llm-api-key stored in Secret %q is not printable ASCII without spaces (the value is not shown here): store it again with 'nix run .#set-secret -- llm-api-key', or remove it with '--delete'" (include "taskflow.fullname" .)) }}
{{- end }}
{{- print "true" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
TCP ports of the backend's egress to the provider, as a JSON list: llm.egress.ports,
or else the port of llm.baseUrl (443 for https:// and 80 for http:// without one).
*/}}
{{- define "taskflow.llmEgressPorts" -}}
{{- $ports := list }}
{{- range .Values.llm.egress.ports }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- if not $ports }}
{{- $url := urlParse .Values.llm.baseUrl }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- if $port }}
{{- $ports = list (atoi $port) }}
{{- else if eq $url.scheme "https" }}
{{- $ports = list 443 }}
{{- else }}
{{- $ports = list 80 }}
{{- end }}
{{- end }}
{{- toJson $ports }}
{{- end }}

{{/*
Destinations of that egress rule, as a JSON list of NetworkPolicyPeer objects (empty:
any address). Each entry of llm.egress.cidrs becomes an ipBlock; the whole-family
entries "0.0.0.0/0" and "::/0" get the llm.egress.except ranges of their family
(Kubernetes refuses exceptions outside the block), narrower ones none.
*/}}
{{- define "taskflow.llmEgressPeers" -}}
{{- $peers := list }}
{{- range $cidr := .Values.llm.egress.cidrs }}
{{- $block := dict "cidr" $cidr }}
{{- if or (eq $cidr "0.0.0.0/0") (eq $cidr "::/0") }}
{{- $v6 := contains ":" $cidr }}
{{- $except := list }}
{{- range $.Values.llm.egress.except }}
{{- if and (eq (contains ":" .) $v6) (not (hasSuffix "/0" .)) }}
{{- $except = append $except . }}
{{- end }}
{{- end }}
{{- if $except }}
{{- $_ := set $block "except" $except }}
{{- end }}
{{- end }}
{{- $peers = append $peers (dict "ipBlock" $block) }}
{{- end }}
{{- range .Values.llm.egress.peers }}
{{- $peers = append $peers . }}
{{- end }}
{{- toJson $peers }}
{{- end }}

{{/*
MCP_ALLOWED_HOSTS: backend.mcpAllowedHosts, or else the names of the backend Service
inside the cluster plus the loopback names (kubectl port-forward).
*/}}
{{- define "taskflow.mcpAllowedHosts" -}}
{{- $hosts := .Values.backend.mcpAllowedHosts }}
{{- if not $hosts }}
{{- $svc := include "taskflow.componentName" (dict "ctx" . "component" "backend") }}
{{- $ns := .Release.Namespace }}
{{- $domain := .Values.clusterDomain | trimSuffix "." }}
{{- $hosts = list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns $domain) "localhost" "127.0.0.1" "::1" }}
{{- end }}
{{- join "," $hosts }}
{{- end }}

{{/* ---------------------------------------------------------------------------
In-cluster addresses.
--------------------------------------------------------------------------- */}}

{{/* BACKEND_URL of the frontend: the backend Service, by the same name helper. */}}
{{- define "taskflow.backendUrl" -}}
{{- printf "http://%s:%d" (include "taskflow.componentName" (dict "ctx" . "component" "backend")) (int .Values.backend.service.port) }}
{{- end }}

{{/* PUBLIC_ORIGIN of the frontend. */}}
{{- define "taskflow.publicOrigin" -}}
{{- if .Values.frontend.publicOrigin }}
{{- .Values.frontend.publicOrigin | trimSuffix "/" }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- else }}
{{- print "http://localhost:3000" }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------------------
Pod building blocks shared by every workload.
--------------------------------------------------------------------------- */}}

{{/* The /tmp volume of every pod. */}}
{{- define "taskflow.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit | quote }}
{{- end }}

{{/* The /tmp mount of every container. */}}
{{- define "taskflow.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Pod-level settings every pod shares (indent to the pod spec). */}}
{{- define "taskflow.podCommon" -}}
serviceAccountName: {{ include "taskflow.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/*
Checks that a component's stop sequence fits in its grace period.
Usage: include "taskflow.checkGrace" (dict "name" "backend" "values" .Values.backend)
*/}}
{{- define "taskflow.checkGrace" -}}
{{- $v := .values }}
{{- if le (int $v.terminationGracePeriodSeconds) (add $v.preStopSleepSeconds $v.shutdownGraceSeconds | int) }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%d) must be greater than %s.preStopSleepSeconds + %s.shutdownGraceSeconds (%d + %d), or Kubernetes kills the pod before requests in progress have finished" .name (int $v.terminationGracePeriodSeconds) .name .name (int $v.preStopSleepSeconds) (int $v.shutdownGraceSeconds)) }}
{{- end }}
{{- end }}

{{/*
ConfigMap data shared by both services, plus the user's extra settings, which may
not override what the chart sets.
Usage: include "taskflow.serviceConfig" (dict "name" "backend" "values" .Values.backend "own" $own)
*/}}
{{- define "taskflow.serviceConfig" -}}
{{- $v := .values }}
{{- $data := dict "HTTP_HOST" "0.0.0.0" "HTTP_PORT" (toString (int $v.containerPort)) "LOG_FORMAT" $v.logFormat "SHUTDOWN_GRACE_SECONDS" (toString (int $v.shutdownGraceSeconds)) }}
{{- if $v.rustLog }}
{{- $_ := set $data "RUST_LOG" $v.rustLog }}
{{- end }}
{{- $data = merge $data .own }}
{{- range $name, $value := $v.extraEnv }}
{{- if or (hasKey $data $name) (has $name $.reserved) }}
{{- fail (printf "%s.extraEnv.%s: the chart sets this variable itself; use the chart's own value for it (see the values table in the chart README)" $.name $name) }}
{{- end }}
{{- $_ := set $data $name (toString $value) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* Probe timings from values (indent under the probe). */}}
{{- define "taskflow.probeTimings" -}}
{{- $lines := list }}
{{- range $key := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $key }}
{{- $lines = append $lines (printf "%s: %d" $key (int (index $ $key))) }}
{{- end }}
{{- end }}
{{- join "\n" $lines }}
{{- end }}

{{/* preStop sleep of a component, omitted when the pause is 0. */}}
{{- define "taskflow.lifecycle" -}}
{{- if gt (int .preStopSleepSeconds) 0 -}}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int .preStopSleepSeconds }}
{{- end }}
{{- end }}

{{/* Number of pods a component runs at least (for the PodDisruptionBudget). */}}
{{- define "taskflow.minPods" -}}
{{- if .autoscaling.enabled }}{{ int .autoscaling.minReplicas }}{{ else }}{{ int .replicaCount }}{{ end }}
{{- end }}

{{/*
Scheduling settings of a component's pods (indent to the pod spec). Spread
constraints without a labelSelector get the component's selector labels.
Usage: include "taskflow.scheduling" (dict "ctx" . "component" "backend" "values" .Values.backend)
*/}}
{{- define "taskflow.scheduling" -}}
{{- $v := .values }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $v.topologySpreadConstraints }}
{{- $selector := include "taskflow.componentSelectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml }}
{{- $constraints := list }}
{{- range $v.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}
{{- end }}
{{- $constraints = append $constraints $c }}
{{- end }}
topologySpreadConstraints:
  {{- toYaml $constraints | nindent 2 }}
{{- end }}
{{- end }}

{{/*
PodDisruptionBudget of a component, when it runs more than one pod.
Usage: include "taskflow.pdb" (dict "ctx" . "component" "backend" "values" .Values.backend)
*/}}
{{- define "taskflow.pdb" -}}
{{- if gt (include "taskflow.minPods" .values | int) 1 }}
{{- $c := dict "ctx" .ctx "component" .component }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "taskflow.componentName" $c }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "taskflow.componentLabels" $c | nindent 4 }}
spec:
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "taskflow.componentSelectorLabels" $c | nindent 6 }}
{{- end }}
{{- end }}

{{/*
HorizontalPodAutoscaler of a component, when enabled.
Usage: include "taskflow.hpa" (dict "ctx" . "component" "backend" "values" .Values.backend)
*/}}
{{- define "taskflow.hpa" -}}
{{- $a := .values.autoscaling }}
{{- if $a.enabled }}
{{- if lt (int $a.maxReplicas) (int $a.minReplicas) }}
{{- fail (printf "%s.autoscaling.maxReplicas (%d) must not be smaller than %s.autoscaling.minReplicas (%d)" .component (int $a.maxReplicas) .component (int $a.minReplicas)) }}
{{- end }}
{{- $c := dict "ctx" .ctx "component" .component }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "taskflow.componentName" $c }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "taskflow.componentLabels" $c | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "taskflow.componentName" $c }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rule for the cluster DNS (UDP and TCP). */}}
{{- define "taskflow.dnsEgress" -}}
- ports:
    - protocol: UDP
      port: {{ .Values.networkPolicy.dnsPort }}
    - protocol: TCP
      port: {{ .Values.networkPolicy.dnsPort }}
{{- end }}

{{/* A NetworkPolicy peer: the pods of one component of this release. */}}
{{- define "taskflow.componentPeer" -}}
- podSelector:
    matchLabels:
      {{- include "taskflow.componentSelectorLabels" . | nindent 6 }}
{{- end }}

{{/* Port the PostgreSQL server listens on inside its pod (fixed by the image). */}}
{{- define "taskflow.postgresContainerPort" -}}5432{{- end }}

{{/* Mount point of the PostgreSQL data volume, and PGDATA below it (nix/contract.json). */}}
{{- define "taskflow.postgresDataDir" -}}/var/lib/postgresql/data{{- end }}
{{- define "taskflow.postgresPgdata" -}}/var/lib/postgresql/data/pgdata{{- end }}
