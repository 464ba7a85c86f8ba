import type { ScenarioDefinition, ScenarioName } from '../scenario.js';
import { kafkaOutage } from './kafka-outage.js';
import { kafkastoreKill } from './kafkastore-kill.js';
import { podScaleDown } from './pod-scale-down.js';
import { redisRestart } from './redis-restart.js';

export const scenarios: Readonly<Record<ScenarioName, ScenarioDefinition>> = {
  'kafkastore-kill': kafkastoreKill,
  'kafka-outage': kafkaOutage,
  'redis-restart': redisRestart,
  'pod-scale-down': podScaleDown,
};
