export { fail, ok, type Failure, type Result } from './result.js';
export {
  createEventIdGenerator,
  eventIdTime,
  isEventId,
  newEventId,
  type EventIdGenerator,
  type EventIdGeneratorOptions,
} from './ids.js';
export { canonicalIp, ipFromHex, ipGroups, ipToHex, ipv4Number } from './ip.js';
export {
  canonicalParamValue,
  decodeParams,
  encodeParams,
  isCanonicalParams,
  paramsToObject,
  type ParamList,
} from './params.js';
export { encodeFormComponent } from './form-encoding.js';
export { encodeEventType } from './event-type.js';
export { decodeRawHit, encodeRawHit, RAW_HIT_CLIENT_VERSION, RAW_HIT_VERSION, type RawHit } from './raw-hit.js';
export {
  CLIENT_CREATED_PARAM,
  CLIENT_ID_MAX_AHEAD_MS,
  CLIENT_ID_PARAM,
  CLIENT_PARAMS,
  CLIENT_SENT_PARAM,
  CLIENT_TIME_MAX,
  clientIdProblem,
  clientMetaOfHit,
  derivedEventTime,
  encodeClientMeta,
  parseClientTime,
  type ClientMetaFields,
} from './client-fields.js';
export { metaKeys, type EventMeta, type MetaKey } from './meta.js';
export { decodeMessage, decodeMessageType, encodeMessage, type TrackingEvent } from './message.js';
export {
  META_DEVICE_FIELDS,
  META_DEVICE_NAME_BYTES,
  META_FIXED_BYTES,
  META_GEO_BYTES,
  messageBytesAbove,
  messageBytesBound,
  type MessageParts,
} from './message-size.js';
export {
  DEAD_LETTER_ERROR_MAX,
  DEAD_LETTER_HEADERS,
  deadLetterErrorText,
  deadLetterHeaders,
  deadLetterPayloads,
  deadLetterReasons,
  decodeDeadLetter,
  type DeadLetterInfo,
  type DeadLetterPayload,
  type DeadLetterReason,
  deadLetterSources,
  type DeadLetterSource,
  type DecodedDeadLetter,
} from './dead-letter.js';
