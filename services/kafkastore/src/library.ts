// What other parts of the repository may reuse of kafkastore (package export `./library`): the
// step that turns a tracker's raw entry into a pipeline message, with its enrichment, and its
// dead letters. The dlq command re-drives dead-lettered raw entries through it, as kafkastore would.
import { existsSync } from 'node:fs';
import type { Logger } from '@pushtech/runtime';
import { ipAnonymizer } from './anonymize-ip.js';
import { uncountedCache } from './cache-stats.js';
import type { KafkastoreConfig } from './config.js';
import { createDeviceLookup } from './device.js';
import { noGeoIp, openGeoIp, type GeoIp } from './geoip.js';
import { createEntryProcessor, type EntryOutcome } from './process-entry.js';

export { kafkastoreSettings, kafkastoreConfig, type KafkastoreConfig } from './config.js';
export type { EntryOutcome } from './process-entry.js';
export { deadLetterMessage, type DeadLetterStage } from './dead-letter.js';

export interface EntryConverter {
  /** The message of one raw entry, or why it cannot be one (as kafkastore would dead-letter it). */
  convert(entry: string, now: number): EntryOutcome;
  readonly geoIp: boolean;
  close(): void;
}

/**
 * kafkastore's decode -> GeoIP -> device -> anonymise -> encode, configured as kafkastore is.
 * GeoIP is optional: without GEOIP_DB, or when its files are missing, country and city are XX.
 */
export async function createEntryConverter(
  config: Pick<
    KafkastoreConfig,
    | 'GEOIP_DB'
    | 'GEOIP_CACHE_SIZE'
    | 'UA_CACHE_SIZE'
    | 'IP_ANONYMIZE'
    | 'KAFKA_PARTITION_KEY'
    | 'EVENT_MAX_MESSAGE_BYTES'
  >,
  logger: Logger,
): Promise<EntryConverter> {
  let geo: GeoIp = noGeoIp;
  if (config.GEOIP_DB.length > 0 && config.GEOIP_DB.every((file) => existsSync(file))) {
    geo = await openGeoIp({
      files: config.GEOIP_DB,
      cacheSize: config.GEOIP_CACHE_SIZE,
      watchIntervalMs: 3_600_000,
      logger,
      stats: uncountedCache,
    });
  } else if (config.GEOIP_DB.length > 0) {
    logger.warn({ files: config.GEOIP_DB }, 'GEOIP_DB files not found: country and city are XX');
  }
  const convert = createEntryProcessor({
    lookupGeo: geo.lookup,
    lookupDevice: createDeviceLookup({ cacheSize: config.UA_CACHE_SIZE }),
    anonymizeIp: ipAnonymizer(config.IP_ANONYMIZE),
    partitionKey: config.KAFKA_PARTITION_KEY,
    maxMessageBytes: config.EVENT_MAX_MESSAGE_BYTES,
  });
  return {
    convert,
    geoIp: geo !== noGeoIp,
    close: () => geo.close(),
  };
}
