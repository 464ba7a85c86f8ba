{{/*
Names are <release>-<component> (pushtech-tracker, ...): the ops CLI and the Rakefile find the
tracker Deployment as <release>-tracker.
*/}}
{{- define "pushtech.name" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "tracker"). */}}
{{- define "pushtech.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "pushtech.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: pushtech
{{- end -}}

{{- define "pushtech.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pushtech.metadata" -}}
name: {{ .name }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- include "pushtech.labels" . | nindent 2 }}
{{- end -}}

{{/* <registry>/<service>:<tag>; call with (dict "root" $ "service" "tracker"). */}}
{{- define "pushtech.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .service (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* Pod-level hardening shared by every pod; the images run as uid 1000 (`node`, `appuser`). */}}
{{- define "pushtech.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container hardening; call with the uid the image expects. */}}
{{- define "pushtech.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "pushtech.podCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Settings every service reads (packages/runtime commonSettings). */}}
{{- define "pushtech.commonEnv" -}}
- name: NODE_ENV
  value: production
- name: LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: LOG_FORMAT
  value: json
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ .shutdownTimeoutMs | int | quote }}
{{- end -}}

{{- define "pushtech.kafkaBrokers" -}}
{{- if .Values.kafka.demo.enabled -}}
{{- printf "%s-kafka.%s.svc:9092" (include "pushtech.name" .) .Release.Namespace -}}
{{- else -}}
{{- join "," .Values.kafka.brokers -}}
{{- end -}}
{{- end -}}

{{- define "pushtech.kafkaEnv" -}}
- name: KAFKA_BROKERS
  value: {{ include "pushtech.kafkaBrokers" . | quote }}
- name: KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: KAFKA_DLQ_TOPIC
  value: {{ .Values.kafka.dlqTopic | quote }}
- name: KAFKA_CLIENT_ID
  value: {{ .Values.kafka.clientId | quote }}
{{- include "pushtech.kafkaSecurityEnv" . }}
{{- end -}}

{{/*
TLS and SASL to the brokers (kafka.tls, kafka.sasl): the files from the Secret mounted by
pushtech.kafkaTlsMount, the user name and password from their Secret (never in the manifest).
*/}}
{{- define "pushtech.kafkaSecurityEnv" -}}
{{- $tls := .Values.kafka.tls -}}
{{- $sasl := .Values.kafka.sasl -}}
{{- if $tls.enabled }}
- name: KAFKA_SSL
  value: "true"
{{- if $tls.secretName }}
{{- with $tls.caKey }}
- name: KAFKA_SSL_CA
  value: {{ printf "/etc/pushtech/kafka-tls/%s" . | quote }}
{{- end }}
{{- with $tls.certKey }}
- name: KAFKA_SSL_CERT
  value: {{ printf "/etc/pushtech/kafka-tls/%s" . | quote }}
{{- end }}
{{- with $tls.keyKey }}
- name: KAFKA_SSL_KEY
  value: {{ printf "/etc/pushtech/kafka-tls/%s" . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if ne $sasl.mechanism "none" }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ $sasl.secretName | quote }}, key: {{ $sasl.usernameKey | quote }} }
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $sasl.secretName | quote }}, key: {{ $sasl.passwordKey | quote }} }
{{- end }}
{{- end -}}

{{/* The Secret of kafka.tls, for pushtech.kafkaSecurityEnv's paths; empty without one. */}}
{{- define "pushtech.kafkaTlsMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.secretName -}}
- { name: kafka-tls, mountPath: /etc/pushtech/kafka-tls, readOnly: true }
{{- end -}}
{{- end -}}

{{- define "pushtech.kafkaTlsVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.secretName -}}
- name: kafka-tls
  secret: { secretName: {{ .Values.kafka.tls.secretName | quote }}, defaultMode: 0440 }
{{- end -}}
{{- end -}}

{{/*
The shared Redis is the separate layout's buffer (tracker and kafkastore only). The consumers
with state have a Redis of their own (consumerRedis), so that no consumer can fill the buffer.
*/}}
{{- define "pushtech.consumersNeedRedis" -}}
{{- range $name, $c := .Values.consumers.list }}{{ if and $c.enabled $c.redis }}yes{{ end }}{{ end -}}
{{- end -}}

{{- define "pushtech.sharedRedisUsed" -}}
{{- if eq .Values.topology "separate" }}yes{{ end -}}
{{- end -}}

{{- define "pushtech.sharedRedisRendered" -}}
{{- if and (include "pushtech.sharedRedisUsed" .) (not .Values.redis.externalUrl) }}yes{{ end -}}
{{- end -}}

{{- define "pushtech.sharedRedisUrl" -}}
{{- if .Values.redis.externalUrl -}}
{{- .Values.redis.externalUrl -}}
{{- else -}}
{{- printf "redis://%s-redis:6379" (include "pushtech.name" .) -}}
{{- end -}}
{{- end -}}

{{- define "pushtech.consumerRedisRendered" -}}
{{- if and (include "pushtech.consumersNeedRedis" .) (not .Values.consumerRedis.externalUrl) }}yes{{ end -}}
{{- end -}}

{{- define "pushtech.consumerRedisUrl" -}}
{{- if .Values.consumerRedis.externalUrl -}}
{{- .Values.consumerRedis.externalUrl -}}
{{- else -}}
{{- printf "redis://%s-consumer-redis:6379" (include "pushtech.name" .) -}}
{{- end -}}
{{- end -}}

{{/*
The chart's Redis instances that are rendered, each as
{name, component, values key, clients (components allowed in by the NetworkPolicy)}.
*/}}
{{- define "pushtech.redisInstances" -}}
{{- $list := list }}
{{- if include "pushtech.sharedRedisRendered" . }}
{{- $list = append $list (dict "name" (printf "%s-redis" (include "pushtech.name" .)) "component" "redis" "key" "redis" "clients" (list "tracker" "kafkastore")) }}
{{- end }}
{{- if include "pushtech.consumerRedisRendered" . }}
{{- $list = append $list (dict "name" (printf "%s-consumer-redis" (include "pushtech.name" .)) "component" "consumer-redis" "key" "consumerRedis" "clients" (list "consumer")) }}
{{- end }}
{{- toJson $list }}
{{- end -}}

{{- define "pushtech.secondsCeil" -}}
{{- div (add (int .) 999) 1000 -}}
{{- end -}}

{{/*
Grace period of a sidecar-layout tracker pod. Termination runs in sequence (native sidecars):
the tracker's preStop sleep, the tracker's own stop (bounded by its SHUTDOWN_TIMEOUT_MS), then
kafkastore drains the pod's Redis (bounded by its SHUTDOWN_TIMEOUT_MS, which exceeds
KAFKASTORE_DRAIN_TIMEOUT_MS), then Redis writes its AOF and exits; plus a margin.
*/}}
{{- define "pushtech.sidecarGraceSeconds" -}}
{{- $t := .Values.tracker -}}
{{- $computed := add $t.preStopSleepSeconds (include "pushtech.secondsCeil" $t.shutdownTimeoutMs) (include "pushtech.secondsCeil" .Values.kafkastore.shutdownTimeoutMs) $t.localRedis.stopSeconds 5 -}}
{{- include "pushtech.graceOrOverride" (dict "computed" $computed "override" $t.terminationGracePeriodSeconds) -}}
{{- end -}}

{{- define "pushtech.trackerGraceSeconds" -}}
{{- $t := .Values.tracker -}}
{{- $computed := add $t.preStopSleepSeconds (include "pushtech.secondsCeil" $t.shutdownTimeoutMs) 5 -}}
{{- include "pushtech.graceOrOverride" (dict "computed" $computed "override" $t.terminationGracePeriodSeconds) -}}
{{- end -}}

{{- define "pushtech.graceOrOverride" -}}
{{- if kindIs "invalid" .override -}}
{{- .computed -}}
{{- else if lt (int .override) (int .computed) -}}
{{- fail (printf "tracker.terminationGracePeriodSeconds=%d is below the %d s the pod needs to stop without losing events (preStop sleep + tracker and kafkastore shutdown timeouts + Redis stop + 5 s margin); raise it or leave it empty" (int .override) (int .computed)) -}}
{{- else -}}
{{- .override -}}
{{- end -}}
{{- end -}}

{{- define "pushtech.httpProbes" -}}
startupProbe:
  httpGet: { path: /healthz, port: {{ .port }} }
  periodSeconds: 2
  failureThreshold: {{ .startupFailures | default 30 }}
livenessProbe:
  httpGet: { path: /healthz, port: {{ .port }} }
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
{{- if .readiness }}
readinessProbe:
  httpGet: { path: /readyz, port: {{ .port }} }
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
{{- end }}
{{- end -}}

{{/*
The kafkastore container, the same in both layouts; call with
(dict "root" $ "redisUrl" "..." "drainOnExit" true "readiness" false).
*/}}
{{- define "pushtech.kafkastoreContainer" -}}
{{- $k := .root.Values.kafkastore -}}
name: kafkastore
image: {{ include "pushtech.image" (dict "root" .root "service" "kafkastore") }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
command: ["node", "dist/main.js"]
ports:
  - { name: ops, containerPort: {{ $k.port | int }} }
env:
  {{- include "pushtech.commonEnv" (dict "root" .root "shutdownTimeoutMs" $k.shutdownTimeoutMs) | nindent 2 }}
  {{- include "pushtech.kafkaEnv" .root | nindent 2 }}
  - name: REDIS_URL
    value: {{ .redisUrl | quote }}
  - name: REDIS_QUEUE_KEY
    value: {{ .root.Values.queueKey | quote }}
  - name: KAFKASTORE_HOST
    value: "0.0.0.0"
  - name: KAFKASTORE_PORT
    value: {{ $k.port | int | quote }}
  - name: KAFKASTORE_BATCH
    value: {{ $k.batch | int | quote }}
  # The processing list is named after the pod, so a restarted container replays its batch.
  - name: KAFKASTORE_INSTANCE
    valueFrom:
      fieldRef: { fieldPath: metadata.name }
  - name: KAFKASTORE_DRAIN_ON_EXIT
    value: {{ .drainOnExit | quote }}
  - name: KAFKASTORE_DRAIN_TIMEOUT_MS
    value: {{ $k.drainTimeoutMs | int | quote }}
  - name: GEOIP_DB
    value: {{ join "," $k.geoip.files | quote }}
  - name: IP_ANONYMIZE
    value: {{ $k.ipAnonymize | quote }}
  - name: KAFKA_PARTITION_KEY
    value: {{ $k.partitionKey | quote }}
  {{- with $k.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{ include "pushtech.httpProbes" (dict "port" "ops" "readiness" .readiness "startupFailures" 60) }}
resources:
  {{- toYaml $k.resources | nindent 2 }}
securityContext:
  {{- include "pushtech.containerSecurityContext" 1000 | nindent 2 }}
volumeMounts:
  - { name: tmp, mountPath: /tmp }
  {{- if $k.geoip.volume }}
  - { name: geoip, mountPath: {{ $k.geoip.mountPath }}, readOnly: true }
  {{- end }}
  {{- with include "pushtech.kafkaTlsMount" .root }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "pushtech.kafkastoreVolumes" -}}
{{- with .Values.kafkastore.geoip.volume }}
- name: geoip
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "pushtech.kafkaTlsVolume" . }}
{{ . }}
{{- end }}
{{- end -}}

{{/* Cross-field checks the JSON schema cannot express. */}}
{{- define "pushtech.validate" -}}
{{- $k := .Values.kafkastore -}}
{{- $sasl := .Values.kafka.sasl -}}
{{- $tls := .Values.kafka.tls -}}
{{- if and (ne $sasl.mechanism "none") (not $sasl.secretName) -}}
{{- fail (printf "kafka.sasl.mechanism=%s needs kafka.sasl.secretName: the Secret holding the user name (%s) and password (%s)" $sasl.mechanism $sasl.usernameKey $sasl.passwordKey) -}}
{{- end -}}
{{- if and $tls.enabled (not $tls.secretName) (or $tls.certKey $tls.keyKey) -}}
{{- fail "kafka.tls.certKey/keyKey name keys of kafka.tls.secretName, which is empty: set the Secret holding the client certificate" -}}
{{- end -}}
{{- if ne (empty $tls.certKey) (empty $tls.keyKey) -}}
{{- fail "kafka.tls.certKey and kafka.tls.keyKey go together: the client certificate needs its key" -}}
{{- end -}}
{{- if and .Values.kafka.demo.enabled (or $tls.enabled (ne $sasl.mechanism "none")) -}}
{{- fail "kafka.demo is a plaintext broker: turn kafka.tls and kafka.sasl off with it, or use your own cluster" -}}
{{- end -}}
{{- if ge (int $k.drainTimeoutMs) (int $k.shutdownTimeoutMs) -}}
{{- fail (printf "kafkastore.drainTimeoutMs=%d must be below kafkastore.shutdownTimeoutMs=%d, or the shutdown timer cuts the drain short" (int $k.drainTimeoutMs) (int $k.shutdownTimeoutMs)) -}}
{{- end -}}
{{- if eq .Values.topology "sidecar" -}}
{{- $drainable := div (mul (int $k.drainRatePerSecond) (int $k.drainTimeoutMs)) 1000 -}}
{{- if gt (int .Values.tracker.maxQueue) (int $drainable) -}}
{{- fail (printf "tracker.maxQueue=%d cannot be drained on scale-down: kafkastore empties about %d events/s (kafkastore.drainRatePerSecond) for at most %d ms (kafkastore.drainTimeoutMs), i.e. %d events; lower tracker.maxQueue or raise kafkastore.drainTimeoutMs" (int .Values.tracker.maxQueue) (int $k.drainRatePerSecond) (int $k.drainTimeoutMs) (int $drainable)) -}}
{{- end -}}
{{- end -}}
{{- $a := .Values.tracker.autoscaling -}}
{{- if and $a.enabled $a.queueDepth.enabled -}}
{{- if ne .Values.topology "sidecar" -}}
{{- fail "tracker.autoscaling.queueDepth needs topology=sidecar: in the separate layout every tracker reports the one shared queue, which the kafkastore StatefulSet drains; more trackers would not shorten it" -}}
{{- end -}}
{{- if ge (int $a.queueDepth.targetAverageValue) (int .Values.tracker.maxQueue) -}}
{{- fail (printf "tracker.autoscaling.queueDepth.targetAverageValue=%d must be below tracker.maxQueue=%d: at maxQueue the tracker already answers 503" (int $a.queueDepth.targetAverageValue) (int .Values.tracker.maxQueue)) -}}
{{- end -}}
{{- end -}}
{{- $topics := .Values.kafka.topics -}}
{{- if gt (int $topics.minInsyncReplicas) (int $topics.replicationFactor) -}}
{{- fail (printf "kafka.topics.minInsyncReplicas=%d exceeds kafka.topics.replicationFactor=%d: no produce with acks=all could succeed" (int $topics.minInsyncReplicas) (int $topics.replicationFactor)) -}}
{{- end -}}
{{- if and .Values.kafka.demo.enabled (gt (int $topics.replicationFactor) 1) -}}
{{- fail (printf "kafka.demo.enabled runs one broker: set kafka.topics.replicationFactor=1 and kafka.topics.minInsyncReplicas=1 (got %d)" (int $topics.replicationFactor)) -}}
{{- end -}}
{{- if and (not .Values.kafka.demo.enabled) (empty .Values.kafka.brokers) -}}
{{- fail "kafka.brokers is empty: list your Kafka bootstrap brokers (host:port) or set kafka.demo.enabled=true" -}}
{{- end -}}
{{- range $name, $c := .Values.consumers.list -}}
{{- if and $c.enabled $c.persistence $c.persistence.enabled (gt (int $c.replicas) 1) -}}
{{- fail (printf "consumers.list.%s: replicas=%d with a ReadWriteOnce volume; use replicas: 1 or persistence.enabled: false" $name (int $c.replicas)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The tracker pod's grace period in its layout: the drain budget the HPA's scale-down is paced by. */}}
{{- define "pushtech.trackerPodGraceSeconds" -}}
{{- if eq .Values.topology "sidecar" -}}
{{- include "pushtech.sidecarGraceSeconds" . -}}
{{- else -}}
{{- include "pushtech.trackerGraceSeconds" . -}}
{{- end -}}
{{- end -}}

{{/*
Scale-down pacing of the tracker HPA; call with (dict "root" $ "key" "stabilizationWindowSeconds"
"floor" 300). Empty: the longer of the floor and the drain budget; a value below the budget is
refused: the HPA would remove the next pods while the last ones still drain.
*/}}
{{- define "pushtech.scaleDownSeconds" -}}
{{- $budget := include "pushtech.trackerPodGraceSeconds" .root | int -}}
{{- $given := get .root.Values.tracker.autoscaling.scaleDown .key -}}
{{- if kindIs "invalid" $given -}}
{{- max .floor $budget -}}
{{- else if lt (int $given) $budget -}}
{{- fail (printf "tracker.autoscaling.scaleDown.%s=%d is below the %d s drain budget (the tracker pod's terminationGracePeriodSeconds): the HPA would remove more pods while the last ones still drain; raise it or leave it empty" .key (int $given) $budget) -}}
{{- else -}}
{{- $given | int -}}
{{- end -}}
{{- end -}}

{{/*
Scrape annotations of a pod, for a Prometheus without the Operator; call with
(dict "root" $ "port" 8380 "job" "pushtech-tracker"). An annotation names one port only.
*/}}
{{- define "pushtech.scrapeAnnotations" -}}
{{- $m := .root.Values.monitoring -}}
{{- if and $m.scrapeAnnotations.enabled (not $m.serviceMonitor.enabled) -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | int | quote }}
prometheus.io/path: /metrics
pushtech.io/job: {{ .job }}
{{- end -}}
{{- end -}}

{{/* Labels of the monitoring objects (ServiceMonitor, PodMonitor, PrometheusRule); call with (dict "root" $ "extra" labels). */}}
{{- define "pushtech.monitoringMetadata" -}}
{{- include "pushtech.metadata" (dict "root" .root "name" .name "component" "monitoring") }}
{{- with .extra }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The Secret holding POSTGRES_URL (postgres_sink, kafidx's Insights): postgres.existingSecret (an
external database), else the demo instance's, else "" (no PostgreSQL).
*/}}
{{- define "pushtech.postgresSecret" -}}
{{- if .Values.postgres.existingSecret -}}
{{- .Values.postgres.existingSecret -}}
{{- else if .Values.postgres.demo.enabled -}}
{{- printf "%s-postgres" (include "pushtech.name" .) -}}
{{- end -}}
{{- end }}
