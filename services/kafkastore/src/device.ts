import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';
import { crawlerOf, toolOf } from './bot-detection.js';
import { uncountedCache, type CacheStats } from './cache-stats.js';

/** What the User-Agent header says about the client, as it goes into the event meta. */
export interface Device {
  /** Mobile, Tablet, Desktop, SmartTV, Console, Wearable, Embedded, XR, Bot, Tool; '' when unknown. */
  readonly type: string;
  readonly browser: string;
  readonly engine: string;
  readonly version: string;
  readonly os: string;
  readonly osVersion: string;
  readonly vendor: string;
  readonly model: string;
  /** A known crawler (Googlebot, bingbot, ...). */
  readonly bot: boolean;
}

const DEVICE_TYPES: Readonly<Record<string, string>> = {
  mobile: 'Mobile',
  tablet: 'Tablet',
  smarttv: 'SmartTV',
  console: 'Console',
  wearable: 'Wearable',
  embedded: 'Embedded',
  xr: 'XR',
};

const UNKNOWN: Device = Object.freeze({
  type: '',
  browser: '',
  engine: '',
  version: '',
  os: '',
  osVersion: '',
  vendor: '',
  model: '',
  bot: false,
});

/** Parses a User-Agent without a cache; exported for tests and the cold-cache benchmark. */
export function parseDevice(ua: string): Device {
  if (ua.trim() === '') return UNKNOWN;
  const crawler = crawlerOf(ua);
  const bot = crawler !== undefined;
  const tool = bot ? undefined : toolOf(ua);
  if (tool) return Object.freeze({ ...UNKNOWN, type: 'Tool', browser: tool.name, version: tool.version });
  const r = new UAParser(ua).getResult();
  const known = r.browser.name !== undefined || r.os.name !== undefined || r.device.type !== undefined;
  let type: string;
  if (bot) type = 'Bot';
  else if (r.device.type !== undefined) type = DEVICE_TYPES[r.device.type] ?? r.device.type;
  // ua-parser reports no device type for desktops: a known browser or OS without one is a desktop.
  else type = known ? 'Desktop' : '';
  // A crawler that is not also a browser (Googlebot's desktop UA) is named by its own token.
  const useCrawlerName = crawler !== undefined && r.browser.name === undefined;
  return Object.freeze({
    type,
    browser: useCrawlerName ? crawler.name : (r.browser.name ?? ''),
    engine: r.engine.name ?? '',
    version: useCrawlerName ? crawler.version : (r.browser.version ?? ''),
    os: r.os.name ?? '',
    osVersion: r.os.version ?? '',
    vendor: r.device.vendor ?? '',
    model: r.device.model ?? '',
    bot,
  });
}

export type DeviceLookup = (ua: string) => Device;

/** Device lookup behind an LRU cache keyed by the whole User-Agent string (few distinct values). */
export function createDeviceLookup(options: { cacheSize: number; stats?: CacheStats }): DeviceLookup {
  const cache = new LRUCache<string, Device>({ max: options.cacheSize });
  const stats = options.stats ?? uncountedCache;
  return function lookupDevice(ua: string): Device {
    const cached = cache.get(ua);
    if (cached !== undefined) {
      stats.hit();
      return cached;
    }
    stats.miss();
    const device = parseDevice(ua);
    cache.set(ua, device);
    return device;
  };
}
