import { kafkaSettings, messageSettings, type ConfigOf } from '@pushtech/runtime';
import { kafkastoreSettings } from '@pushtech/kafkastore/library';

/** What the command reads: Kafka's, and kafkastore's settings for turning raw entries into messages. */
export const dlqSettings = {
  ...kafkaSettings,
  ...messageSettings,
  GEOIP_DB: kafkastoreSettings.GEOIP_DB,
  GEOIP_CACHE_SIZE: kafkastoreSettings.GEOIP_CACHE_SIZE,
  UA_CACHE_SIZE: kafkastoreSettings.UA_CACHE_SIZE,
  IP_ANONYMIZE: kafkastoreSettings.IP_ANONYMIZE,
  KAFKA_PARTITION_KEY: kafkastoreSettings.KAFKA_PARTITION_KEY,
} as const;
export type DlqConfig = ConfigOf<typeof dlqSettings>;
