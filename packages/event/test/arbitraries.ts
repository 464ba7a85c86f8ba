import fc from 'fast-check';
import {
  canonicalIp,
  metaKeys,
  type EventMeta,
  type ParamList,
  type RawHit,
  type TrackingEvent,
} from '../src/index.js';

const char = (from: number, to: number): fc.Arbitrary<string> =>
  fc.integer({ min: from, max: to }).map((code) => String.fromCharCode(code));

/** C0 and C1 controls and DEL. */
const controlChar = fc.oneof(char(0x00, 0x1f), char(0x7f, 0x9f));

/** Characters with a meaning in URLs, urlencoded text or the message's field split. */
const syntaxChar = fc.constantFrom(...'&=%+ ?#/\\\t\n', '%2', '%zz', '%20', '%C3', '%FF', '+');

const syntaxSoup = fc.string({
  unit: fc.oneof(syntaxChar, controlChar, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })),
});

/** Any well-formed string: graphemes, arbitrary code points, controls, URL syntax. */
export function text(constraints: { minLength?: number } = {}): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme', ...constraints }),
    fc.string({ unit: 'binary', ...constraints }),
    fc.string({ unit: controlChar, ...constraints }),
    syntaxSoup.filter((s) => s.length >= (constraints.minLength ?? 0)),
  );
}

/** Strings that may hold lone surrogates, which no encoder can carry as they are. */
export const textWithLoneSurrogates = fc.string({
  unit: fc.oneof(char(0xd800, 0xdfff), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), syntaxChar),
});

export const paramList: fc.Arbitrary<ParamList> = fc.array(fc.tuple(text(), text()), { maxLength: 8 });

const knownKey: ReadonlySet<string> = new Set(metaKeys);

/** Addresses as the decoder returns them: canonical text. */
export const canonicalAddress = fc.oneof(fc.ipV4(), fc.ipV6()).map((ip) => {
  const canonical = canonicalIp(ip);
  if (!canonical.ok) throw new Error(`fc produced an address canonicalIp refuses: ${canonical.error}`);
  return canonical.value;
});

/** lat/lon: finite doubles; -0 has no wire form distinct from 0. */
const coordinate = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));

// fc.record builds objects without a prototype unless told not to, and deepStrictEqual
// compares prototypes.
const record = { noNullPrototype: true } as const;

const optionalMeta = fc.record(
  {
    region: text(),
    lat: coordinate,
    lon: coordinate,
    osVersion: text(),
    vendor: text(),
    model: text(),
    bot: fc.boolean(),
    idSource: fc.constantFrom('client' as const, 'tracker' as const),
    createdAt: fc.maxSafeNat(),
    sentAt: fc.maxSafeNat(),
    eventTime: fc.maxSafeNat(),
  },
  { requiredKeys: [], noNullPrototype: true },
);

export const eventMeta: fc.Arbitrary<EventMeta> = fc
  .tuple(
    fc.record(
      {
        type: text(),
        browser: text(),
        engine: text(),
        version: text(),
        os: text(),
        host: text(),
        ts: fc.maxSafeNat(),
        ip: canonicalAddress,
        klag: fc.maxSafeInteger(),
        country: text(),
        city: text(),
        id: fc.ulid(),
        pod: text(),
        extra: fc.array(
          fc.tuple(
            text().filter((key) => !knownKey.has(key)),
            text(),
          ),
          { maxLength: 4 },
        ),
      },
      record,
    ),
    optionalMeta,
  )
  .map(([required, optional]) => ({ ...required, ...optional }));

export const trackingEvent: fc.Arbitrary<TrackingEvent> = fc.record(
  {
    type: text({ minLength: 1 }),
    meta: eventMeta,
    params: paramList,
  },
  record,
);

/** A device time as the tracker takes it: within a ULID's 48 bits. */
export const clientTime = fc.integer({ min: 0, max: 2 ** 48 - 1 });

/** The client fields of a raw hit, any of them absent. */
const clientFields = fc.record(
  { idSource: fc.constant('client' as const), createdAt: clientTime, sentAt: clientTime },
  { requiredKeys: [], noNullPrototype: true },
);

const plainRawHit: fc.Arbitrary<RawHit> = fc.record(
  {
    id: fc.ulid(),
    ts: fc.maxSafeNat(),
    ip: fc.oneof(fc.ipV4(), fc.ipV6()),
    host: fc.oneof(text(), textWithLoneSurrogates),
    pod: text(),
    type: fc.oneof(
      text({ minLength: 1 }),
      textWithLoneSurrogates.filter((s) => s !== ''),
    ),
    params: fc.oneof(text(), textWithLoneSurrogates),
    ua: fc.oneof(text(), textWithLoneSurrogates),
  },
  record,
);

/** Hits with and without client fields (version 2 and 1 on the wire). */
export const rawHit: fc.Arbitrary<RawHit> = fc
  .tuple(plainRawHit, clientFields)
  .map(([hit, client]) => ({ ...hit, ...client }));

/** A valid encoding with one slice replaced, to reach decoder branches past the first check. */
export function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.nat(), fc.nat({ max: 8 }), fc.oneof(fc.string({ maxLength: 4 }), syntaxSoup))
    .map(([source, at, removed, inserted]) => {
      const index = source.length === 0 ? 0 : at % source.length;
      return source.slice(0, index) + inserted + source.slice(index + removed);
    });
}
