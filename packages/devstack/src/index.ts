export { KAFKA_VERSION } from './kafka-version.js';
export { ensureKafkaJars, type KafkaJars } from './kafka-jars.js';
export { startKafkaBroker, serverProperties, waitUntilAnswering, type KafkaBroker } from './kafka-broker.js';
export {
  activeController,
  busiestLeader,
  partitionPlacements,
  startKafkaCluster,
  type KafkaCluster,
  type PartitionPlacement,
} from './kafka-cluster.js';
export { startRedisServer, pingRedis, type AppendFsync, type RedisServer } from './redis-server.js';
export {
  DiskPressureUnavailableError,
  fillFilesystem,
  mountSmallFilesystem,
  stallAofFsync,
  type FilledFilesystem,
} from './disk-pressure.js';
export { killThrowawayStack, startStack, type Stack, type StackOptions } from './stack.js';
export { freePort, isListening } from './ports.js';
export { MissingPrerequisiteError, requireCommand, which } from './commands.js';
export { cacheDir, stateDir, repoRoot } from './paths.js';
export { pipelineTopics, devstackSettings } from './settings.js';
export {
  prometheusConfig,
  scrapeJobName,
  startLocalPrometheus,
  startPrometheusServer,
  type PrometheusServer,
  type ScrapeJob,
} from './prometheus-server.js';
export {
  postgresBinDir,
  startLocalPostgres,
  startPostgresServer,
  startThrowawayPostgres,
  type PostgresServer,
} from './postgres-server.js';
