import path from 'node:path';
import {
  createAdmin,
  createProducer,
  deadLetterTopic,
  describeError,
  kafkaConnectionFrom,
  parseConfig,
  type Env,
  type KafkaAdmin,
  type Logger,
} from '@pushtech/runtime';
import { createEntryConverter } from '@pushtech/kafkastore/library';
import { letterLines, letterTable, printable } from './format.js';
import { matches, placeOf, readLetterAt, readLetters, timeOf, type Letter } from './letters.js';
import { parseCommand, usage, UsageError, type Command } from './options.js';
import {
  ensureProgressTopic,
  planOf,
  progressIdOf,
  progressTopicOf,
  readProgress,
  sendPlanned,
  type Plan,
} from './redrive.js';
import { dlqSettings, type DlqConfig } from './settings.js';

/** Where a command writes; the CLI passes process streams, tests collect the lines. */
export interface DlqIo {
  out(line: string): void;
  err(line: string): void;
}

export interface DlqContext {
  readonly env: Env;
  /** Relative GEOIP_DB paths are read against it (the .env file's directory). */
  readonly baseDir: string;
  readonly io: DlqIo;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Exit codes: 0 done, 1 failed (or letters that could not be re-driven), 2 bad command line or settings. */
export async function main(argv: readonly string[], context: DlqContext): Promise<number> {
  const { io } = context;
  const now = context.now ?? Date.now;
  let command: Command;
  let config: DlqConfig;
  try {
    command = parseCommand(argv, now());
    if (command.name === 'help') {
      for (const line of usage.split('\n')) io.out(line);
      return 0;
    }
    config = parseConfig('dlq', dlqSettings, context.env);
  } catch (error: unknown) {
    io.err(`dlq: ${describeError(error)}`);
    return 2;
  }
  const topic = deadLetterTopic(config);
  const connection = kafkaConnectionFrom(config, 'dlq');
  const admin = createAdmin(connection, context.logger);
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(topic)) {
      io.err(`dlq: the dead-letter topic ${topic} does not exist (KAFKA_DLQ_TOPIC, or <KAFKA_TOPIC>.dlq)`);
      return 1;
    }
    switch (command.name) {
      case 'list':
        return await list(command, config, topic, context);
      case 'show':
        return await show(command, config, admin, topic, context);
      case 'redrive':
        return await redrive(command, config, admin, topic, context, now);
    }
  } catch (error: unknown) {
    if (error instanceof UsageError) {
      io.err(`dlq: ${error.message}`);
      return 2;
    }
    io.err(`dlq: ${describeError(error).replace(/\s+/g, ' ')}`);
    return 1;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function matching(
  config: DlqConfig,
  topic: string,
  context: DlqContext,
  filter: Command & { name: 'list' | 'redrive' },
): Promise<Letter[]> {
  const chosen: Letter[] = [];
  // list shows no values: it keeps none, so a large topic costs only its headers.
  const keep = (letter: Letter): Letter => (filter.name === 'list' ? { ...letter, key: null, value: null } : letter);
  await readLetters(kafkaConnectionFrom(config, 'dlq'), context.logger, topic, (letters) => {
    for (const letter of letters) if (matches(letter, filter.filter)) chosen.push(keep(letter));
  });
  return chosen.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

async function list(
  command: Command & { name: 'list' },
  config: DlqConfig,
  topic: string,
  context: DlqContext,
): Promise<number> {
  const letters = await matching(config, topic, context, command);
  if (letters.length === 0) {
    context.io.out(`no dead letters in ${topic} match`);
    return 0;
  }
  const latest = [...letters].sort((a, b) => timeOf(a) - timeOf(b)).slice(-command.limit);
  for (const line of letterTable(latest)) context.io.out(line);
  context.io.out(
    latest.length < letters.length
      ? `${latest.length} latest of ${letters.length} matching letters in ${topic} (--limit for more)`
      : `${letters.length} matching letter${letters.length === 1 ? '' : 's'} in ${topic}`,
  );
  return 0;
}

async function show(
  command: Command & { name: 'show' },
  config: DlqConfig,
  admin: KafkaAdmin,
  topic: string,
  context: DlqContext,
): Promise<number> {
  const partitions = await admin.topicOffsets(topic);
  const { address } = command;
  if (address.partition === undefined && partitions.length > 1) {
    throw new UsageError(`${topic} has ${partitions.length} partitions: give the letter as <partition:offset>`);
  }
  const partition = address.partition ?? 0;
  const range = partitions.find((p) => p.partition === partition);
  if (range === undefined) {
    throw new UsageError(`${topic} has no partition ${partition} (it has 0 to ${partitions.length - 1})`);
  }
  const letter = await readLetterAt(
    kafkaConnectionFrom(config, 'dlq'),
    context.logger,
    topic,
    partition,
    address.offset,
  );
  if (letter === undefined) {
    context.io.err(
      `dlq: no letter at ${partition}:${address.offset}; partition ${partition} of ${topic} holds offsets ` +
        (BigInt(range.high) > BigInt(range.low) ? `${range.low} to ${BigInt(range.high) - 1n}` : 'none'),
    );
    return 1;
  }
  for (const line of letterLines(letter, topic)) context.io.out(line);
  return 0;
}

async function redrive(
  command: Command & { name: 'redrive' },
  config: DlqConfig,
  admin: KafkaAdmin,
  topic: string,
  context: DlqContext,
  now: () => number,
): Promise<number> {
  const { io, logger } = context;
  const connection = kafkaConnectionFrom(config, 'dlq');
  const letters = await matching(config, topic, context, command);
  const done = await readProgress(connection, logger, admin, topic);
  const pending = letters.filter((l) => !done.has(progressIdOf(l)));
  const converter = await createEntryConverter(
    { ...config, GEOIP_DB: config.GEOIP_DB.map((file) => path.resolve(context.baseDir, file)) },
    logger,
  );
  const planned: { letter: Letter; plan: Plan & { kind: 'send' } }[] = [];
  const skipped: { letter: Letter; why: string }[] = [];
  // The producer never creates a topic: a letter meant for one that is gone is reported instead.
  const topics = new Set(await admin.listTopics());
  try {
    for (const letter of pending) {
      const plan = planOf(letter, topic, (entry, at) => converter.convert(entry, at), now());
      if (plan.kind === 'skip') skipped.push({ letter, why: plan.why });
      else if (!topics.has(plan.topic)) skipped.push({ letter, why: `its topic ${plan.topic} does not exist` });
      else planned.push({ letter, plan });
    }
  } finally {
    converter.close();
  }
  for (const { letter, why } of skipped) io.err(`dlq: skipped ${placeOf(letter)}: ${printable(why)}`);
  const verb = command.dryRun ? 'would send' : 'sent';
  const describe = (letter: Letter, plan: Plan & { kind: 'send' }): string =>
    `${verb} ${placeOf(letter)} to ${plan.topic}${plan.id === undefined ? '' : ` (id ${plan.id})`}`;
  if (command.dryRun) {
    for (const { letter, plan } of planned) io.out(describe(letter, plan));
  } else if (planned.length > 0) {
    const progressTopic = await ensureProgressTopic(admin, topic);
    const producer = createProducer(connection, logger);
    await producer.connect();
    try {
      await sendPlanned(producer, progressTopic, planned, now, (letter, plan) => io.out(describe(letter, plan)));
    } finally {
      await producer.disconnect();
    }
  }
  io.out(
    `${command.dryRun ? 'dry run: ' : ''}${letters.length} matching, ${letters.length - pending.length} already re-driven ` +
      `(${progressTopicOf(topic)}), ${planned.length} ${verb}, ${skipped.length} skipped`,
  );
  return skipped.length > 0 ? 1 : 0;
}
