/**
 * The environment each service container gets from the manifests is accepted by that
 * service's own configuration function (the code that runs at start-up), and names only
 * variables that configuration reads: a misspelt variable would otherwise be ignored silently.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { describeError, parseConfig, type ConfigSchema } from '@pushtech/runtime';
import { consumersConfig, consumersSettings, selectConsumers } from '@pushtech/consumers/config';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { kafidxConfig, kafidxSettings } from '@pushtech/kafidx/config';
import { kafkastoreConfig, kafkastoreSettings } from '@pushtech/kafkastore/config';
import { trackerConfig, trackerSettings } from '@pushtech/tracker/config';
import { helmTemplate, layouts, type ChartValues } from '../src/k8s-helm.js';
import { parseManifests, readLayoutObjects, type KubeObject } from '../src/k8s-manifests.js';
import { podContainers, resolveEnv, serviceOf, workloads, type ServiceName } from '../src/k8s-workloads.js';

const REGISTRY = 'ghcr.io/pushtech';

/** Stand-ins for Secrets the operator creates outside the chart. */
const OPERATOR_SECRETS: Readonly<Record<string, string>> = {
  token: 'operator-made-dashboard-token-0123456789',
  keys: 'write-key-one,write-key-two',
};

interface ContainerCheck {
  readonly where: string;
  readonly service: ServiceName;
  readonly env: Record<string, string>;
  /** Variables the service's configuration does not read. */
  readonly unknown: string[];
  /** What the configuration function refused, or undefined. */
  readonly refused: string | undefined;
  /** The parsed configuration, when accepted. */
  readonly config: Readonly<Record<string, unknown>> | undefined;
}

/** The variables a service reads and the function it parses them with at start-up. */
function configFor(service: ServiceName, env: Record<string, string>): { known: string[]; parse: () => object } {
  switch (service) {
    case 'tracker':
      return { known: Object.keys(trackerSettings), parse: () => trackerConfig(env) };
    case 'kafkastore':
      return { known: Object.keys(kafkastoreSettings), parse: () => kafkastoreConfig(env, { baseDir: '/app' }) };
    case 'kafidx':
      return { known: Object.keys(kafidxSettings), parse: () => kafidxConfig(env) };
    case 'consumers': {
      // A consumer module adds its own settings (the archiver's ARCHIVE_DIR).
      const definition = builtInConsumers.find((d) => d.name === env['CONSUMER_NAME']);
      const own: ConfigSchema = definition?.settings ?? {};
      return {
        known: [...Object.keys(consumersSettings), ...Object.keys(own)],
        parse: () => {
          const config = consumersConfig(env);
          selectConsumers(config, builtInConsumers);
          parseConfig(`consumer ${env['CONSUMER_NAME'] ?? '?'}`, own, env);
          return config;
        },
      };
    }
  }
}

function samplePodName(object: KubeObject): string {
  return object.kind === 'StatefulSet' ? `${object.metadata.name}-0` : `${object.metadata.name}-5d8f7b9c6d-x7k2p`;
}

function checkContainers(objects: readonly KubeObject[]): ContainerCheck[] {
  const checks: ContainerCheck[] = [];
  for (const w of workloads(objects)) {
    for (const { container } of podContainers(w.spec)) {
      const service = serviceOf(container, REGISTRY);
      if (!service) continue;
      checks.push(check(`${w.object.kind} ${w.object.metadata.name}/${container.name}`, service, container, w.object));
    }
  }
  return checks;

  function check(where: string, service: ServiceName, container: V1Container, owner: KubeObject): ContainerCheck {
    const env = resolveEnv(container, {
      objects,
      podName: samplePodName(owner),
      podIp: '10.1.2.3',
      secretFallback: (name, key) => {
        const value = OPERATOR_SECRETS[key];
        if (value === undefined) throw new Error(`${where}: Secret ${name} key ${key} is neither rendered nor known`);
        return value;
      },
    });
    const { known, parse } = configFor(service, env);
    const unknown = Object.keys(env).filter((name) => !known.includes(name));
    try {
      return { where, service, env, unknown, refused: undefined, config: parse() as Record<string, unknown> };
    } catch (error: unknown) {
      return { where, service, env, unknown, refused: describeError(error), config: undefined };
    }
  }
}

function assertAccepted(checks: readonly ContainerCheck[]): void {
  for (const c of checks) {
    assert.deepEqual(c.unknown, [], `${c.where}: variables ${c.service} does not read`);
    assert.equal(c.refused, undefined, `${c.where}: ${c.service} refuses its environment`);
    assert.equal(c.config?.['NODE_ENV'], 'production', `${c.where}: NODE_ENV`);
    assert.equal(c.config?.['LOG_FORMAT'], 'json', `${c.where}: LOG_FORMAT`);
  }
}

function renderObjects(values: ChartValues): KubeObject[] {
  return parseManifests(helmTemplate(values), 'helm template');
}

describe('service environments in the manifests', () => {
  for (const layout of layouts) {
    it(`are accepted by each service's configuration in ${layout.topology === 'sidecar' ? 'kubernetes.two' : 'kubernetes'}/`, () => {
      const checks = checkContainers(readLayoutObjects(layout.dir));
      assert.deepEqual([...new Set(checks.map((c) => c.service))].sort(), [
        'consumers',
        'kafidx',
        'kafkastore',
        'tracker',
      ]);
      assertAccepted(checks);
      const kafidx = checks.find((c) => c.service === 'kafidx');
      assert.equal(kafidx?.config?.['KAFIDX_TOKEN'], OPERATOR_SECRETS['token'], 'the token comes from the Secret');
    });
  }

  it('are accepted with the chart defaults, the generated kafidx token included', () => {
    const checks = checkContainers(renderObjects({}));
    assertAccepted(checks);
    const token = checks.find((c) => c.service === 'kafidx')?.config?.['KAFIDX_TOKEN'];
    assert.match(String(token), /^[A-Za-z0-9]{40}$/);
  });

  it('are accepted with every optional setting turned on', () => {
    const checks = checkContainers(
      renderObjects({
        set: {
          topology: 'separate',
          'redis.externalUrl': 'rediss://redis.example.internal:6380',
          'tracker.redirectHosts': ['example.com', '*.example.org'],
          'tracker.writeKeysSecret': 'tracker-write-keys',
          'tracker.rateLimit': 50,
          'tracker.extraEnv': [{ name: 'TRACKER_SCHEMAS', value: '/etc/pushtech/schemas.json' }],
          'kafkastore.ipAnonymize': 'truncate',
          'kafkastore.geoip.files': [],
          'kafidx.token': 'a-token-given-in-values-0123',
          'kafidx.allowedOrigins': ['https://ops.example.com'],
          'ingress.kafidx.enabled': true,
        },
      }),
    );
    assertAccepted(checks);
    const byService = (s: ServiceName): ContainerCheck | undefined => checks.find((c) => c.service === s);
    assert.deepEqual(byService('tracker')?.config?.['TRACKER_WRITE_KEYS'], ['write-key-one', 'write-key-two']);
    assert.equal(byService('tracker')?.config?.['REDIS_URL'], 'rediss://redis.example.internal:6380');
    assert.equal(byService('kafidx')?.config?.['KAFIDX_TOKEN'], 'a-token-given-in-values-0123');
    assert.equal(byService('kafidx')?.config?.['KAFIDX_COOKIE_SECURE'], true, 'Secure cookie behind the TLS ingress');
    assert.deepEqual(byService('kafkastore')?.config?.['GEOIP_DB'], []);
  });

  it('catches a variable no service reads (a typo) and a value a service refuses', () => {
    const checks = checkContainers(
      renderObjects({
        set: {
          'tracker.extraEnv': [
            { name: 'TRACKER_MAXQUEUE', value: '100' },
            { name: 'TRACKER_RATE_BURST', value: '0' },
          ],
        },
      }),
    );
    const tracker = checks.find((c) => c.service === 'tracker');
    assert.deepEqual(tracker?.unknown, ['TRACKER_MAXQUEUE']);
    assert.match(tracker?.refused ?? '', /TRACKER_RATE_BURST="0"/);
    const others = checks.filter((c) => c.service !== 'tracker');
    assert.ok(others.length > 0);
    assertAccepted(others);
  });
});
