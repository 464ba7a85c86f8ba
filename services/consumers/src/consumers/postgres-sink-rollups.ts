import type { ConsumedEvent } from '@pushtech/consumer-kit';
import { deviceIdOf, isoTime, withoutNul } from './postgres-sink-rows.js';

const HOUR_MS = 3_600_000;

/** The UTC hour (ms at its start) of a time, as `date_trunc('hour', t, 'UTC')`. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * What the rows a batch inserted add to the hourly rollups: events per (hour, type, country,
 * device type) and the (hour, device) pairs, each value as the row stores it (NUL as U+FFFD; an
 * unknown country or device type as '').
 */
export class BatchRollup {
  /** Rows added. */
  events = 0;
  /** Key: hour, type, country and device type joined by NUL, which no stored value holds. */
  private readonly counts = new Map<string, number>();
  /** The devices of each hour. */
  readonly devices = new Map<number, Set<string>>();

  add(event: ConsumedEvent): void {
    this.events++;
    const hour = hourOf(event.receivedAt);
    const key = `${hour}\0${withoutNul(event.type)}\0${withoutNul(event.meta.country)}\0${withoutNul(event.meta.type)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const device = deviceIdOf(event);
    if (device === undefined || device === '') return;
    let set = this.devices.get(hour);
    if (!set) this.devices.set(hour, (set = new Set()));
    set.add(withoutNul(device));
  }

  /**
   * The parameters of the rollup statement: the counts, and the (hour, device) pairs not
   * already known to be in the device set (a known pair would be a conflict, skipped anyway).
   */
  parameters(known: SeenDevices): [string[], string[], string[], string[], number[], string[], string[]] {
    const hours: string[] = [];
    const types: string[] = [];
    const countries: string[] = [];
    const deviceTypes: string[] = [];
    const counts: number[] = [];
    for (const [key, count] of this.counts) {
      const [hour, type, country, deviceType] = key.split('\0') as [string, string, string, string];
      hours.push(isoTime(Number(hour)));
      types.push(type);
      countries.push(country);
      deviceTypes.push(deviceType);
      counts.push(count);
    }
    const deviceHours: string[] = [];
    const deviceIds: string[] = [];
    for (const [hour, devices] of this.devices) {
      const iso = isoTime(hour);
      for (const device of devices) {
        if (known.has(hour, device)) continue;
        deviceHours.push(iso);
        deviceIds.push(device);
      }
    }
    return [hours, types, countries, deviceTypes, counts, deviceHours, deviceIds];
  }
}

/**
 * (hour, device) pairs this process saw committed to `events_hourly_device_set`, so that a
 * batch sends only the pairs that may be new (most devices send many events an hour). Rows of
 * that table are deleted only past the retention, so a pair seen stays true; the newest hours
 * are kept up to `limit` pairs. Lost at a restart: the set's own key still decides.
 */
export class SeenDevices {
  private readonly hours = new Map<number, Set<string>>();
  private size = 0;

  constructor(private readonly limit = 200_000) {}

  has(hour: number, device: string): boolean {
    return this.hours.get(hour)?.has(device) ?? false;
  }

  /** After the commit of the batch that added them. */
  addAll(devices: ReadonlyMap<number, ReadonlySet<string>>): void {
    for (const [hour, added] of devices) {
      let set = this.hours.get(hour);
      if (!set) this.hours.set(hour, (set = new Set()));
      for (const device of added) {
        if (set.has(device)) continue;
        set.add(device);
        this.size++;
      }
    }
    if (this.size <= this.limit) return;
    // The oldest hours go first; the newest one too if it alone is over the limit.
    for (const hour of [...this.hours.keys()].sort((a, b) => a - b)) {
      this.size -= this.hours.get(hour)?.size ?? 0;
      this.hours.delete(hour);
      if (this.size <= this.limit) break;
    }
  }
}
