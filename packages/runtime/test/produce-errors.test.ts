/**
 * Produce failures as both clients raise them, classified: the broker's error name found however
 * deeply the client wrapped it, and retriable unless no retry of the same records can help.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkError, ProtocolError, ResponseError } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { classifyProduceError } from '../src/kafka/produce-errors.js';

// CommonJS exports kafkajs spreads in, which Node does not see as named ones.
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } =
  kafkajs;

/** A broker error as kafkajs's response parser raises it (createErrorFromCode). */
function kafkajsBrokerError(type: string, code: number, retriable: boolean): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code, retriable }));
}

function givenUp(cause: Error): Error {
  return Object.assign(new KafkaJSNonRetriableError(cause), { cause });
}

const cases: ReadonlyArray<{ name: string; error: unknown; code: string; retriable: boolean }> = [
  {
    name: 'kafkajs: MESSAGE_TOO_LARGE given up by the retrier',
    // As the retrier's bail() wraps it: the broker's error is the cause.
    error: givenUp(kafkajsBrokerError('MESSAGE_TOO_LARGE', 10, false)),
    code: 'MESSAGE_TOO_LARGE',
    retriable: false,
  },
  {
    name: 'kafkajs: CORRUPT_MESSAGE after its retries (kafkajs calls it retriable)',
    error: new KafkaJSNumberOfRetriesExceeded(kafkajsBrokerError('CORRUPT_MESSAGE', 2, true), {
      retryCount: 3,
      retryTime: 800,
    }),
    code: 'CORRUPT_MESSAGE',
    retriable: false,
  },
  {
    name: 'kafkajs: NOT_LEADER_FOR_PARTITION, under its newer name',
    error: kafkajsBrokerError('NOT_LEADER_FOR_PARTITION', 6, true),
    code: 'NOT_LEADER_OR_FOLLOWER',
    retriable: true,
  },
  {
    name: 'kafkajs: NOT_ENOUGH_REPLICAS',
    error: kafkajsBrokerError('NOT_ENOUGH_REPLICAS', 19, true),
    code: 'NOT_ENOUGH_REPLICAS',
    retriable: true,
  },
  {
    name: 'kafkajs: TOPIC_AUTHORIZATION_FAILED pauses (a missing ACL is not a bad event)',
    error: kafkajsBrokerError('TOPIC_AUTHORIZATION_FAILED', 29, false),
    code: 'TOPIC_AUTHORIZATION_FAILED',
    retriable: true,
  },
  {
    name: 'kafkajs: a connection refused',
    error: new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
    code: 'NETWORK',
    retriable: true,
  },
  {
    name: '@platformatic/kafka: a response with RECORD_LIST_TOO_LARGE for one partition',
    error: new ResponseError(0, 9, { '/responses/0/partitionResponses/1': [18, null] }, {}),
    code: 'RECORD_LIST_TOO_LARGE',
    retriable: false,
  },
  {
    name: '@platformatic/kafka: INVALID_RECORD inside the aggregate of its attempts',
    error: new AggregateError(
      [new NetworkError('Connection closed'), new ProtocolError('INVALID_RECORD')],
      'produce failed 2 times.',
    ),
    code: 'INVALID_RECORD',
    retriable: false,
  },
  {
    name: '@platformatic/kafka: INVALID_REQUIRED_ACKS pauses (the request is wrong, not the records)',
    error: new ProtocolError('INVALID_REQUIRED_ACKS'),
    code: 'INVALID_REQUIRED_ACKS',
    retriable: true,
  },
  {
    name: '@platformatic/kafka: LEADER_NOT_AVAILABLE',
    error: new ProtocolError('LEADER_NOT_AVAILABLE'),
    code: 'LEADER_NOT_AVAILABLE',
    retriable: true,
  },
  {
    name: '@platformatic/kafka: the network, with the system error as its cause',
    error: new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: new Error('connect ECONNREFUSED') }),
    code: 'NETWORK',
    retriable: true,
  },
  {
    name: 'a request timeout',
    error: new Error('Request Produce(key: 0, version: 7) timed out'),
    code: 'TIMEOUT',
    retriable: true,
  },
  { name: 'anything unknown is retried', error: 'something odd', code: 'UNKNOWN', retriable: true },
];

describe('classifyProduceError', () => {
  for (const c of cases) {
    it(c.name, () => {
      const failure = classifyProduceError(c.error);
      assert.deepEqual({ code: failure.code, retriable: failure.retriable }, { code: c.code, retriable: c.retriable });
      assert.ok(failure.message.length > 0);
    });
  }
});
