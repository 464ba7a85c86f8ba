import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { canonicalIp, ipv4Number } from '@pushtech/event';
import { describeError, type Logger } from '@pushtech/runtime';
import { Reader, type Response } from 'maxmind';
import { uncountedCache, type CacheStats } from './cache-stats.js';
import { UNKNOWN_LOCATION, locationFromRecord, type GeoLocation } from './geo-record.js';
import { RecencyCache } from './recency-cache.js';
import { isReservedIp, isReservedIpv4 } from './reserved-ip.js';

export type GeoLookup = (ip: string) => GeoLocation;

export interface GeoIp {
  readonly lookup: GeoLookup;
  /** Stops watching the database files. */
  close(): void;
}

/** The null object when GEOIP_DB is unset: every address is `XX`. */
export const noGeoIp: GeoIp = Object.freeze({ lookup: () => UNKNOWN_LOCATION, close: () => undefined });

interface Database {
  readonly file: string;
  reader: Reader<Response>;
  /** An IPv4-only database answers garbage for IPv6 addresses, so those skip it. */
  ipv6: boolean;
}

/**
 * Many addresses share one database record (a city's networks). The reader keeps decoded
 * records by their offset in the file, so a record is decoded once and the same object comes
 * back for every address that points to it; `find` then maps it to one GeoLocation object,
 * which lets the message writer reuse the location's encoded fragment.
 */
const RECORD_CACHE_SIZE = 50_000;

async function loadReader(file: string): Promise<Reader<Response>> {
  const records = new RecencyCache<number, object>(RECORD_CACHE_SIZE);
  const cache = {
    get: (offset: string | number): unknown => records.get(Number(offset)),
    set: (offset: string | number, value: unknown): void => {
      if (value !== null && typeof value === 'object') records.set(Number(offset), value);
    },
  };
  return new Reader<Response>(await readFile(file), { cache });
}

/**
 * GeoIP over one or more MaxMind-format databases, tried in order until one knows the address.
 * Each file is watched; a new version replaces the old reader only once it parsed, so a
 * half-written file never takes the service down (the old data stays in use until then).
 */
export async function openGeoIp(options: {
  files: readonly string[];
  cacheSize: number;
  watchIntervalMs: number;
  logger: Logger;
  stats?: CacheStats;
}): Promise<GeoIp> {
  const { logger } = options;
  const stats = options.stats ?? uncountedCache;
  const cache = new RecencyCache<string, GeoLocation>(options.cacheSize);
  const databases: Database[] = [];
  for (const file of options.files) {
    let reader: Reader<Response>;
    try {
      reader = await loadReader(file);
    } catch (error: unknown) {
      throw new Error(`GEOIP_DB: cannot open ${file} as a MaxMind database: ${describeError(error)}`, { cause: error });
    }
    databases.push({ file, reader, ipv6: reader.metadata.ipVersion === 6 });
    logger.info(
      { file, type: reader.metadata.databaseType, built: reader.metadata.buildEpoch },
      'GeoIP database loaded',
    );
  }

  const listeners = databases.map((db) => {
    const onChange = (current: Stats, previous: Stats): void => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
      if (current.nlink === 0) return; // removed: keep the loaded data until a new file appears
      loadReader(db.file).then(
        (reader) => {
          db.reader = reader;
          db.ipv6 = reader.metadata.ipVersion === 6;
          cache.clear();
          logger.info({ file: db.file, type: reader.metadata.databaseType }, 'GeoIP database reloaded');
        },
        (error: unknown) =>
          logger.error(
            { file: db.file, err: describeError(error) },
            'GeoIP database changed but cannot be read; keeping the old one',
          ),
      );
    };
    watchFile(db.file, { interval: options.watchIntervalMs, persistent: false }, onChange);
    return { file: db.file, onChange };
  });

  // One location per record object; records leave with the reader's cache (or a reload).
  const locationOf = new WeakMap<object, GeoLocation | null>();
  function locate(record: Response | null): GeoLocation | undefined {
    if (record === null || typeof record !== 'object') return undefined;
    let location = locationOf.get(record);
    if (location === undefined) {
      location = locationFromRecord(record) ?? null;
      locationOf.set(record, location);
    }
    return location ?? undefined;
  }

  function find(ip: string): GeoLocation {
    let address: string;
    const v4 = ipv4Number(ip);
    if (v4 !== undefined) {
      // Most traffic: a dotted quad is parsed once, and that form is already canonical.
      if (isReservedIpv4(v4)) return UNKNOWN_LOCATION;
      address = ip;
    } else {
      if (isReservedIp(ip)) return UNKNOWN_LOCATION;
      const canonical = canonicalIp(ip);
      if (!canonical.ok) return UNKNOWN_LOCATION;
      address = canonical.value;
    }
    const isIpv6 = address.includes(':');
    for (const db of databases) {
      if (isIpv6 && !db.ipv6) continue;
      const location = locate(db.reader.get(address));
      if (location) return location;
    }
    return UNKNOWN_LOCATION;
  }

  return {
    lookup: function lookupGeo(ip: string): GeoLocation {
      const cached = cache.get(ip);
      if (cached !== undefined) {
        stats.hit();
        return cached;
      }
      stats.miss();
      const location = find(ip);
      cache.set(ip, location);
      return location;
    },
    close() {
      for (const { file, onChange } of listeners) unwatchFile(file, onChange);
    },
  };
}
