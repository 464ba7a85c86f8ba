import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonSettings, errorCodeMeanings, kafkaSettings, messageSettings, redisSettings } from '@pushtech/runtime';
import { devstackSettings } from '@pushtech/devstack';
import { dlqSettings } from '@pushtech/dlq/settings';
import { consumersSettings } from '@pushtech/consumers/config';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { kafidxSettings } from '@pushtech/kafidx/config';
import { kafkastoreSettings } from '@pushtech/kafkastore/config';
import { trackerSettings } from '@pushtech/tracker/config';
import type { ConfigSection, ReferenceInput, SettingSource } from './config-reference.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the reference is written, from the repo root. */
export const configReferenceFile = 'docs/configuration.md';

/** A built-in consumer's module, by the file name `npm run new-consumer` gives it. */
function consumerFile(name: string): string {
  return `services/consumers/src/consumers/${name.replaceAll('_', '-')}.ts`;
}

const sections: ConfigSection[] = [
  {
    title: 'tracker',
    intro: 'The HTTP edge (`services/tracker`): turns pixels into raw hits in the Redis buffer.',
    settings: trackerSettings,
  },
  {
    title: 'kafkastore',
    intro: 'The sidecar (`services/kafkastore`): drains the Redis buffer, enriches each hit and produces it to Kafka.',
    settings: kafkastoreSettings,
  },
  {
    title: 'consumers',
    intro:
      "The consumers service (`services/consumers`): the consumer kit's settings, shared by every consumer, " +
      "and the service's own. Each built-in consumer adds its own settings, below.",
    settings: consumersSettings,
  },
  ...builtInConsumers.map((consumer): ConfigSection => ({
    title: `consumer ${consumer.name}`,
    intro: `Read when \`${consumer.name}\` is selected (\`${consumerFile(consumer.name)}\`).`,
    settings: consumer.settings ?? {},
  })),
  {
    title: 'kafidx',
    intro: 'The live dashboard (`services/kafidx`): one Kafka consumer fanned out to browsers over WebSockets.',
    settings: kafidxSettings,
  },
  {
    title: 'devstack',
    intro:
      'The local Redis and Kafka that `npm start`, `npm test` and `npm run bench` start (`packages/devstack`); ' +
      'it passes the `.env` defaults on to the services.',
    settings: devstackSettings,
  },
  {
    title: 'dlq',
    intro:
      '`npm run dlq` (`packages/dlq`): lists, shows and re-drives dead letters; it turns raw entries into ' +
      "messages with kafkastore's settings.",
    settings: dlqSettings,
  },
];

/**
 * The files that define settings with `setting.…(…)`, each with a schema holding them (a
 * service's schema holds the shared ones it spreads, so it stands for a shared file too).
 */
const sources: SettingSource[] = [
  { file: 'packages/runtime/src/common-settings.ts', settings: commonSettings },
  { file: 'packages/runtime/src/redis-settings.ts', settings: redisSettings },
  { file: 'packages/runtime/src/message-settings.ts', settings: messageSettings },
  { file: 'packages/runtime/src/kafka/settings.ts', settings: kafkaSettings },
  { file: 'packages/consumer-kit/src/settings.ts', settings: consumersSettings },
  { file: 'services/tracker/src/config.ts', settings: trackerSettings },
  { file: 'services/kafkastore/src/config.ts', settings: kafkastoreSettings },
  { file: 'services/consumers/src/config.ts', settings: consumersSettings },
  ...builtInConsumers.map((c): SettingSource => ({ file: consumerFile(c.name), settings: c.settings ?? {} })),
  { file: 'services/kafidx/src/config.ts', settings: kafidxSettings },
  { file: 'packages/devstack/src/settings.ts', settings: devstackSettings },
  { file: 'packages/dlq/src/settings.ts', settings: dlqSettings },
];

/** The reference as this checkout's code describes it. */
export const configReferenceInput: ReferenceInput = {
  sections,
  sources,
  errorCodes: errorCodeMeanings,
  read: (file) => readFileSync(path.join(repoRoot, file), 'utf8'),
};

export function configReferencePath(): string {
  return path.join(repoRoot, configReferenceFile);
}
