import type { ScenarioDefinition, ScenarioName } from '../scenario.js';
import { abortedUploadsScaleDown } from './aborted-uploads-scale-down.js';
import { consumerOutages } from './consumer-outages.js';
import { kafkaControllerKill, kafkaLeaderKill, kafkaRollingRestart } from './kafka-failover.js';
import { kafkaOutage } from './kafka-outage.js';
import { kafkastoreKill } from './kafkastore-kill.js';
import { oversizedEvents } from './oversized-events.js';
import { podScaleDown } from './pod-scale-down.js';
import { postgresKill } from './postgres-kill.js';
import { redisDiskPressure } from './redis-disk-pressure.js';
import { redisRestart } from './redis-restart.js';
import { sdkFlakyNetwork } from './sdk-flaky-network.js';
import { twoKafkastores } from './two-kafkastores.js';

export const scenarios: Readonly<Record<ScenarioName, ScenarioDefinition>> = {
  'kafkastore-kill': kafkastoreKill,
  'kafka-outage': kafkaOutage,
  'redis-restart': redisRestart,
  'pod-scale-down': podScaleDown,
  'redis-disk-pressure': redisDiskPressure,
  'aborted-uploads-scale-down': abortedUploadsScaleDown,
  'two-kafkastores': twoKafkastores,
  'oversized-events': oversizedEvents,
  'consumer-outages': consumerOutages,
  'kafka-leader-kill': kafkaLeaderKill,
  'kafka-controller-kill': kafkaControllerKill,
  'kafka-rolling-restart': kafkaRollingRestart,
  'sdk-flaky-network': sdkFlakyNetwork,
  'postgres-kill': postgresKill,
};
