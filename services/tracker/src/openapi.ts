/** The public API of the tracker as an OpenAPI 3.1 document, served at /openapi.json. */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const unavailable = {
  description: 'Redis unreachable or the buffer is full; nothing was stored. Retry after the given seconds.',
  headers: { 'Retry-After': { schema: { type: 'integer' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const eventParam = {
  name: 'event',
  in: 'path',
  required: true,
  description: 'Event type, percent-encoded; 1-128 bytes of UTF-8, no control characters.',
  schema: { type: 'string' },
};
const writeKeyHeader = {
  name: 'X-Write-Key',
  in: 'header',
  required: false,
  description: 'Required when the tracker is configured with write keys (also accepted as the write_key query param).',
  schema: { type: 'string' },
};
/** The reserved params a client sends with an event (issue 22); taken out of the params. */
const clientParams = [
  {
    name: '_id',
    in: 'query',
    required: false,
    description:
      "The event id minted on the device: a ULID (26 characters of Crockford base32, uppercase) whose time is at most 366 days ahead of the tracker's clock. It becomes the event's id (meta id_src=client), so a retry is counted once; without it the tracker mints one. Malformed: 400.",
    schema: { type: 'string', pattern: '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' },
  },
  {
    name: '_ct',
    in: 'query',
    required: false,
    description:
      "When the device created the event, ms since the epoch on the device's clock; with _st, or 400. The meta gains ct, st and ets = receive time - (_st - _ct).",
    schema: { type: 'integer', minimum: 0, maximum: 281474976710655 },
  },
  {
    name: '_st',
    in: 'query',
    required: false,
    description: "When the device sent the request, ms since the epoch on the device's clock; with _ct, or 400.",
    schema: { type: 'integer', minimum: 0, maximum: 281474976710655 },
  },
];
const common = {
  400: error(
    'Invalid event name, params, JSON, client id (_id) or device time (_ct, _st), or a schema violation; nothing stored.',
  ),
  401: error('Missing or wrong write key.'),
  403: error('Origin not allowed.'),
  414: error('Query string over 8 KiB.'),
  429: {
    description:
      'Rate limit exceeded for this client (an IPv4 address, or an IPv6 /64); nothing stored. Retry after the given seconds, when its bucket holds the tokens.',
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
  503: unavailable,
};

const document = {
  openapi: '3.1.0',
  info: {
    title: 'Pushtech tracker',
    version: '1.0.0',
    description:
      'Fire-and-forget tracking pixels. A 2xx means the event is stored in the buffer and will reach Kafka at least once.',
  },
  paths: {
    '/t/{event}': {
      parameters: [eventParam, writeKeyHeader, ...clientParams],
      get: {
        summary: 'Track one event; the query string holds its params. `/t/{event}.gif` answers a 1x1 GIF.',
        responses: {
          204: { description: 'Stored.' },
          200: { description: 'Stored (the .gif form).', content: { 'image/gif': {} } },
          ...common,
        },
      },
      head: {
        summary: 'Track one event (no body in the answer).',
        responses: { 204: { description: 'Stored.' }, ...common },
      },
      post: {
        summary: 'Track one event; body params merge with query params.',
        requestBody: {
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', additionalProperties: { type: 'string' } },
            },
            'application/json': { schema: { $ref: '#/components/schemas/Params' } },
            'text/plain': {
              schema: { type: 'string', description: 'A JSON object, as sent by navigator.sendBeacon.' },
            },
          },
        },
        responses: {
          204: { description: 'Stored.' },
          ...common,
          413: error(
            "Body over 1 MiB, or the event's Kafka message could exceed EVENT_MAX_MESSAGE_BYTES once encoded.",
          ),
          415: error('Unsupported content type.'),
        },
      },
      options: {
        summary: 'CORS preflight.',
        responses: { 204: { description: 'Allowed.' }, 403: error('Origin not allowed.') },
      },
    },
    '/t': {
      parameters: [writeKeyHeader],
      post: {
        summary:
          'Track a batch: a JSON array or NDJSON of {event, params}; at most 1000 events and 1 MiB, validated as a whole.',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'array', maxItems: 1000, items: { $ref: '#/components/schemas/BatchItem' } },
            },
            'application/x-ndjson': { schema: { type: 'string' } },
          },
        },
        responses: {
          200: {
            description: 'All stored.',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'integer' } } },
              },
            },
          },
          ...common,
          413: error(
            "More than 1000 events, over 1 MiB, one event too large (the reason names its item), or more events than the rate limit's burst.",
          ),
        },
      },
      options: {
        summary: 'CORS preflight.',
        responses: { 204: { description: 'Allowed.' }, 403: error('Origin not allowed.') },
      },
    },
    '/r/{event}': {
      parameters: [
        eventParam,
        {
          name: 'to',
          in: 'query',
          required: true,
          description: 'Target URL; its host must be allowed.',
          schema: { type: 'string' },
        },
      ],
      get: {
        summary: 'Click tracking: store the event, then redirect to an allowed target.',
        responses: {
          302: {
            description: 'Stored; Location holds the target.',
            headers: { Location: { schema: { type: 'string' } } },
          },
          ...common,
        },
      },
    },
    '/healthz': { get: { summary: 'Liveness.', responses: { 200: { description: 'Alive.' } } } },
    '/readyz': {
      get: {
        summary: 'Readiness: Redis reachable and the buffer below its cap.',
        responses: { 200: { description: 'Ready.' }, 503: { description: 'Not ready; the body says why.' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics.', responses: { 200: { description: 'Metrics text.' } } } },
    '/openapi.json': { get: { summary: 'This document.', responses: { 200: { description: 'OpenAPI 3.1.' } } } },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'detail'],
        properties: { error: { type: 'string' }, detail: { type: 'string' } },
      },
      Params: {
        type: 'object',
        description:
          'The event params. The reserved _id, _ct and _st (see the /t/{event} parameters) are taken out and checked; in a batch a malformed one refuses the whole batch, naming the item.',
        additionalProperties: { type: ['string', 'number', 'boolean'] },
      },
      BatchItem: {
        type: 'object',
        required: ['event'],
        properties: { event: { type: 'string', minLength: 1 }, params: { $ref: '#/components/schemas/Params' } },
      },
    },
  },
} as const;

export const openApi = document;
export const openApiDocument = JSON.stringify(document);
