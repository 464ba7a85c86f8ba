export { fail, ok, type Failure, type Result } from './result.js';
export {
  createEventIdGenerator,
  eventIdTime,
  isEventId,
  newEventId,
  type EventIdGenerator,
  type EventIdGeneratorOptions,
} from './ids.js';
export { canonicalIp, ipFromHex, ipToHex, ipv4Number } from './ip.js';
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
export { decodeRawHit, encodeRawHit, RAW_HIT_VERSION, type RawHit } from './raw-hit.js';
export { metaKeys, type EventMeta, type MetaKey } from './meta.js';
export { decodeMessage, decodeMessageType, encodeMessage, type TrackingEvent } from './message.js';
