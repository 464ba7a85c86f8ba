import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { canonicalIp, ipv4Number } from '@pushtech/event';
import { describeError, type Logger } from '@pushtech/runtime';
import { Reader, type Response } from 'maxmind';
import { uncountedCache, type CacheStats } from './cache-stats.js';
import { UNKNOWN_LOCATION, locationFromRecord, type GeoLocation } from './geo-record.js';
import { RecencyCache } from './recency-cache.js';
import { ipv4TreeSearch, type Ipv4Search } from './ipv4-tree.js';
import { isReservedIp, isReservedIpv4 } from './reserved-ip.js';

export type GeoLookup = (ip: string) => GeoLocation;

export interface GeoIp {
  readonly lookup: GeoLookup;
  /** Stops watching the database files. */
  close(): void;
}

/** The null object when GEOIP_DB is unset: every address is `XX`. */
export const noGeoIp: GeoIp = Object.freeze({ lookup: () => UNKNOWN_LOCATION, close: () => undefined });

interface Loaded {
  readonly reader: Reader<Response>;
  /** An IPv4-only database answers garbage for IPv6 addresses, so those skip it. */
  readonly ipv6: boolean;
  readonly searchIpv4: Ipv4Search;
  /** IPv4 answers by data pointer: null where the record names no usable location. */
  readonly ipv4Locations: RecencyCache<number, GeoLocation | null>;
}

interface Database {
  readonly file: string;
  /** Replaced whole when the file changes. */
  loaded: Loaded;
}

/**
 * Many addresses share one database record (a city's networks). The reader keeps decoded
 * records by their offset in the file, so a record is decoded once and the same object comes
 * back for every address that points to it; `find` then maps it to one GeoLocation object,
 * which lets the message writer reuse the location's encoded fragment.
 */
const RECORD_CACHE_SIZE = 50_000;

async function load(file: string, locationCacheSize: number): Promise<Loaded> {
  const records = new RecencyCache<number, object>(RECORD_CACHE_SIZE);
  const cache = {
    get: (offset: string | number): unknown => records.get(Number(offset)),
    set: (offset: string | number, value: unknown): void => {
      if (value !== null && typeof value === 'object') records.set(Number(offset), value);
    },
  };
  const bytes = await readFile(file);
  const reader = new Reader<Response>(bytes, { cache });
  const { ipVersion, nodeCount, recordSize } = reader.metadata;
  return {
    reader,
    ipv6: ipVersion === 6,
    searchIpv4: ipv4TreeSearch(bytes, { ipVersion, nodeCount, recordSize }),
    ipv4Locations: new RecencyCache(locationCacheSize),
  };
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
  // Addresses other than dotted quads (IPv6, mostly) are cached by their text.
  const cache = new RecencyCache<string, GeoLocation>(options.cacheSize);
  const databases: Database[] = [];
  for (const file of options.files) {
    let loaded: Loaded;
    try {
      loaded = await load(file, options.cacheSize);
    } catch (error: unknown) {
      throw new Error(`GEOIP_DB: cannot open ${file} as a MaxMind database: ${describeError(error)}`, { cause: error });
    }
    databases.push({ file, loaded });
    const { metadata } = loaded.reader;
    logger.info({ file, type: metadata.databaseType, built: metadata.buildEpoch }, 'GeoIP database loaded');
  }

  const listeners = databases.map((db) => {
    const onChange = (current: Stats, previous: Stats): void => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
      if (current.nlink === 0) return; // removed: keep the loaded data until a new file appears
      load(db.file, options.cacheSize).then(
        (loaded) => {
          db.loaded = loaded;
          cache.clear();
          logger.info({ file: db.file, type: loaded.reader.metadata.databaseType }, 'GeoIP database reloaded');
        },
        (error: unknown) =>
          logger.error({ file: db.file, err: error }, 'GeoIP database changed but cannot be read; keeping the old one'),
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

  /**
   * Most traffic: a dotted quad, parsed once into `v4`. Each database's tree is walked with the
   * number, and the record it points to is decoded (and mapped to a location) only the first
   * time that record comes up, so a new address costs a walk, not a decode.
   */
  function findIpv4(ip: string, v4: number): GeoLocation {
    if (isReservedIpv4(v4)) return UNKNOWN_LOCATION;
    for (const db of databases) {
      const { searchIpv4, ipv4Locations, reader } = db.loaded;
      const pointer = searchIpv4(v4);
      if (pointer === 0) continue;
      let location = ipv4Locations.get(pointer);
      if (location === undefined) {
        stats.miss();
        location = locate(reader.get(ip)) ?? null;
        ipv4Locations.set(pointer, location);
      } else {
        stats.hit();
      }
      if (location !== null) return location;
    }
    return UNKNOWN_LOCATION;
  }

  function find(ip: string): GeoLocation {
    if (isReservedIp(ip)) return UNKNOWN_LOCATION;
    const canonical = canonicalIp(ip);
    if (!canonical.ok) return UNKNOWN_LOCATION;
    const address = canonical.value;
    const isIpv6 = address.includes(':');
    for (const db of databases) {
      if (isIpv6 && !db.loaded.ipv6) continue;
      const location = locate(db.loaded.reader.get(address));
      if (location) return location;
    }
    return UNKNOWN_LOCATION;
  }

  return {
    lookup: function lookupGeo(ip: string): GeoLocation {
      const v4 = ipv4Number(ip);
      if (v4 !== undefined) return findIpv4(ip, v4);
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
