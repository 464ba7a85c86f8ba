/**
 * Kafka TLS and SASL in the chart (kafka.tls, kafka.sasl): every container that talks to Kafka
 * (kafkastore in both layouts, every consumer, kafidx, the topics Job) gets the same settings,
 * the files from one mounted Secret, the user name and password from their Secret and never
 * from a value in the manifest; values that cannot work are refused with a message naming them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { helmLint, layouts } from '../src/k8s-helm.js';
import type { KubeObject } from '../src/k8s-manifests.js';
import { envValue, podContainers, workloads, type Workload } from '../src/k8s-workloads.js';
import { refusal, render } from './helm-render.js';

const secured = {
  'kafka.brokers': ['b-1.example.kafka.us-east-1.amazonaws.com:9096'],
  'kafka.tls.enabled': true,
  'kafka.tls.secretName': 'kafka-client-tls',
  'kafka.tls.certKey': 'tls.crt',
  'kafka.tls.keyKey': 'tls.key',
  'kafka.sasl.mechanism': 'scram-sha-512',
  'kafka.sasl.secretName': 'kafka-user',
  'kafka.sasl.passwordKey': 'pw',
};

/** Every container of every workload that is given KAFKA_BROKERS (the topics Job: BOOTSTRAP_SERVERS). */
function kafkaContainers(objects: readonly KubeObject[]): { workload: Workload; container: V1Container }[] {
  return workloads(objects).flatMap((workload) =>
    podContainers(workload.spec)
      .map((c) => c.container)
      .filter((c) => c.env?.some((e) => e.name === 'KAFKA_BROKERS' || e.name === 'BOOTSTRAP_SERVERS') === true)
      .map((container) => ({ workload, container })),
  );
}

const label = ({ workload, container }: { workload: Workload; container: V1Container }): string =>
  `${workload.object.kind} ${workload.object.metadata.name}/${container.name}`;

describe('helm chart: Kafka TLS and SASL', () => {
  for (const topology of ['separate', 'sidecar']) {
    it(`${topology}: by default no container gets TLS or SASL settings, and no Secret is mounted`, () => {
      const found = kafkaContainers(render({ set: { topology } }));
      assert.ok(found.length >= 4, found.map(label).join(', '));
      for (const c of found) {
        const names = (c.container.env ?? []).map((e) => e.name).filter((n) => /^KAFKA_(SSL|SASL)/.test(n));
        assert.deepEqual(names, [], label(c));
        assert.ok(!c.workload.spec.volumes?.some((v) => v.name === 'kafka-tls'), label(c));
      }
    });

    it(`${topology}: TLS with a client certificate and SCRAM reach every Kafka client, secrets by reference`, () => {
      const objects = render({ set: { topology, ...secured } });
      const found = kafkaContainers(objects);
      const services = new Set(found.map((c) => c.container.name));
      for (const expected of ['kafkastore', 'kafidx', 'kafka-topics']) assert.ok(services.has(expected), expected);
      assert.ok(
        found.some((c) => c.workload.object.metadata.name.includes('consumer')),
        'no consumer among the Kafka clients',
      );
      for (const c of found) {
        const where = label(c);
        assert.equal(envValue(c.container, 'KAFKA_SSL'), 'true', where);
        assert.equal(envValue(c.container, 'KAFKA_SSL_CA'), '/etc/pushtech/kafka-tls/ca.crt', where);
        assert.equal(envValue(c.container, 'KAFKA_SSL_CERT'), '/etc/pushtech/kafka-tls/tls.crt', where);
        assert.equal(envValue(c.container, 'KAFKA_SSL_KEY'), '/etc/pushtech/kafka-tls/tls.key', where);
        assert.equal(envValue(c.container, 'KAFKA_SASL_MECHANISM'), 'scram-sha-512', where);
        const ref = (name: string) => c.container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
        assert.deepEqual(ref('KAFKA_SASL_USERNAME'), { name: 'kafka-user', key: 'username' }, where);
        assert.deepEqual(ref('KAFKA_SASL_PASSWORD'), { name: 'kafka-user', key: 'pw' }, where);
        assert.equal(envValue(c.container, 'KAFKA_SASL_PASSWORD'), undefined, where);
        assert.deepEqual(
          c.container.volumeMounts?.find((m) => m.name === 'kafka-tls'),
          { name: 'kafka-tls', mountPath: '/etc/pushtech/kafka-tls', readOnly: true },
          where,
        );
        const volume = c.workload.spec.volumes?.find((v) => v.name === 'kafka-tls');
        assert.equal(volume?.secret?.secretName, 'kafka-client-tls', where);
      }
    });
  }

  it('TLS without a Secret trusts the system CAs: KAFKA_SSL only, nothing mounted (MSK, Confluent Cloud)', () => {
    const objects = render({
      set: { 'kafka.tls.enabled': true, 'kafka.sasl.mechanism': 'plain', 'kafka.sasl.secretName': 'ccloud-key' },
    });
    for (const c of kafkaContainers(objects)) {
      assert.equal(envValue(c.container, 'KAFKA_SSL'), 'true', label(c));
      for (const name of ['KAFKA_SSL_CA', 'KAFKA_SSL_CERT', 'KAFKA_SSL_KEY'])
        assert.equal(envValue(c.container, name), undefined, `${label(c)} ${name}`);
      assert.ok(!c.container.volumeMounts?.some((m) => m.name === 'kafka-tls'), label(c));
    }
  });

  it('the topics Job hands the same settings to the Kafka tools (--command-config)', () => {
    const job = kafkaContainers(render({ set: secured })).find((c) => c.container.name === 'kafka-topics');
    const script = job?.container.args?.join('\n') ?? '';
    assert.match(script, /--command-config "\$config"/);
    assert.match(script, /security\.protocol=\$protocol/);
    assert.match(script, /ssl\.truststore\.type=PEM/);
  });

  it('passes helm lint --strict with TLS and SASL on, in each layout', () => {
    for (const layout of layouts) {
      const result = helmLint({ files: [layout.valuesFile], set: secured });
      assert.equal(result.code, 0, `${layout.valuesFile}:\n${result.stdout}${result.stderr}`);
    }
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    [
      'a mechanism without its Secret',
      { 'kafka.sasl.mechanism': 'plain' },
      /kafka\.sasl\.mechanism=plain needs kafka\.sasl\.secretName/,
    ],
    [
      'an unknown mechanism',
      { 'kafka.sasl.mechanism': 'gssapi' },
      /at '\/kafka\/sasl\/mechanism': value must be one of/,
    ],
    [
      'a client certificate without its key',
      { 'kafka.tls.enabled': true, 'kafka.tls.secretName': 's', 'kafka.tls.certKey': 'tls.crt' },
      /kafka\.tls\.certKey and kafka\.tls\.keyKey go together/,
    ],
    [
      'a client certificate without a Secret',
      { 'kafka.tls.enabled': true, 'kafka.tls.certKey': 'tls.crt', 'kafka.tls.keyKey': 'tls.key' },
      /kafka\.tls\.certKey\/keyKey name keys of kafka\.tls\.secretName, which is empty/,
    ],
    [
      'TLS with the plaintext demo broker',
      { 'kafka.demo.enabled': true, 'kafka.tls.enabled': true },
      /kafka\.demo is a plaintext broker/,
    ],
  ];
  for (const [what, set, expected] of refusals) {
    it(`refuses ${what}`, () => assert.match(refusal({ set }), expected));
  }
});
