/** What GeoIP adds to an event: `XX` for country and city when they are unknown. */
export interface GeoLocation {
  readonly country: string;
  readonly city: string;
  readonly region?: string;
  readonly lat?: number;
  readonly lon?: number;
}

export const UNKNOWN_LOCATION: GeoLocation = Object.freeze({ country: 'XX', city: 'XX' });

type Json = Readonly<Record<string, unknown>>;

function object(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function coordinate(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function englishName(value: unknown): string | undefined {
  return text(object(object(value)?.['names'])?.['en']);
}

/**
 * Reads both record layouts: GeoIP2/GeoLite2 City (`country.iso_code`, `city.names.en`,
 * `subdivisions[0]`, `location.latitude`) and the flat records of the free ip-location-db
 * databases (`country_code`, `city`, `state1`, `latitude`). Undefined when the record says
 * nothing usable.
 */
export function locationFromRecord(record: unknown): GeoLocation | undefined {
  const r = object(record);
  if (!r) return undefined;
  const nestedCountry = object(r['country']) ?? object(r['registered_country']);
  const country = text(nestedCountry?.['iso_code']) ?? text(r['country_code']);
  if (country === undefined) return undefined;
  const subdivisions = r['subdivisions'];
  const subdivision = Array.isArray(subdivisions) ? object(subdivisions[0] as unknown) : undefined;
  const region = englishName(subdivision) ?? text(subdivision?.['iso_code']) ?? text(r['state1']);
  const location = object(r['location']);
  const lat = coordinate(location ? location['latitude'] : r['latitude']);
  const lon = coordinate(location ? location['longitude'] : r['longitude']);
  const city = englishName(r['city']) ?? text(r['city']) ?? 'XX';
  return {
    country,
    city,
    ...(region !== undefined ? { region } : {}),
    ...(lat !== undefined && lon !== undefined ? { lat, lon } : {}),
  };
}
