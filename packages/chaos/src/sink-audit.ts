/**
 * The PostgreSQL sink's table compared with what it had to write: every acknowledged request id
 * (the load's `rid` param, in `params`) in `events` exactly once, every event of the topic there,
 * nothing else, and the hourly rollups equal to what the rows say.
 */
export interface SinkAudit {
  /** Rows of `events`. */
  readonly rows: number;
  /** Distinct event ids among them (rows - distinctIds: an event id stored twice). */
  readonly distinctIds: number;
  /** Acknowledged request ids. */
  readonly acknowledged: number;
  /** Acknowledged request ids without a row. */
  readonly lost: number;
  /** Extra rows of acknowledged request ids (a request id in two rows adds one). */
  readonly duplicated: number;
  /** Distinct events of the topic (by event id) without a row. */
  readonly topicMissing: number;
  /** Distinct event ids in `events` that are not in the topic. */
  readonly unexpected: number;
  /** The sum of `events_hourly`. */
  readonly rollupTotal: number;
  /** (hour, type, country, device type) groups whose `events_hourly` count differs from the rows. */
  readonly rollupGroupsWrong: number;
  /** Hours whose `events_hourly_devices` count differs from the distinct `device_id`s of the rows. */
  readonly deviceHoursWrong: number;
  /** A few lost request ids. */
  readonly lostSample: readonly string[];
  /** A few request ids with more than one row. */
  readonly duplicatedSample: readonly string[];
}

/** The row count, distinct ids, acknowledged-set difference and rollups agree: exactly once. */
export function exactlyOnce(a: SinkAudit): boolean {
  return (
    a.acknowledged > 0 &&
    a.lost === 0 &&
    a.duplicated === 0 &&
    a.rows === a.distinctIds &&
    a.topicMissing === 0 &&
    a.unexpected === 0 &&
    a.rollupTotal === a.rows &&
    a.rollupGroupsWrong === 0 &&
    a.deviceHoursWrong === 0
  );
}

export function describeSinkAudit(a: SinkAudit): string {
  return (
    `${a.rows} rows, ${a.distinctIds} distinct ids; ${a.lost} of ${a.acknowledged} acknowledged missing` +
    (a.lostSample.length > 0 ? ` (e.g. ${a.lostSample.join(', ')})` : '') +
    `, ${a.duplicated} twice` +
    (a.duplicatedSample.length > 0 ? ` (e.g. ${a.duplicatedSample.join(', ')})` : '') +
    `; ${a.topicMissing} events of the topic missing, ${a.unexpected} not from the topic; ` +
    `rollups: ${a.rollupTotal} in all, ${a.rollupGroupsWrong} groups and ${a.deviceHoursWrong} device hours wrong`
  );
}

/** A value in COPY's text format (ids are ULIDs and `<run>-<n>`; escaped all the same). */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function copyBlock(table: string, values: Iterable<string>): string {
  let text = `copy ${table} from stdin;\n`;
  for (const v of values) text += `${copyText(v)}\n`;
  return `${text}\\.\n`;
}

/**
 * One psql script: the acknowledged request ids and the topic's event ids copied into temporary
 * tables, then each figure of SinkAudit as a `name<TAB>value` line. Request ids with several
 * acknowledgements count once (a set).
 */
export function sinkAuditScript(acknowledged: Iterable<string>, topicEventIds: Iterable<string>): string {
  return [
    'create temp table acked (rid text primary key);',
    'create temp table in_topic (id text primary key);',
    copyBlock('acked', new Set(acknowledged)),
    copyBlock('in_topic', new Set(topicEventIds)),
    `create temp table got as select id, params->>'rid' as rid, received_at, type,
       coalesce(country, '') as country, coalesce(device_type, '') as device_type, device_id from events;`,
    'analyze acked; analyze in_topic; analyze got;',
    `select 'rows', count(*) from got;`,
    `select 'distinctIds', count(distinct id) from got;`,
    `select 'acknowledged', count(*) from acked;`,
    `select 'lost', count(*) from acked a where not exists (select 1 from got g where g.rid = a.rid);`,
    `select 'duplicated', coalesce(sum(n - 1), 0) from
       (select rid, count(*) as n from got join acked using (rid) group by rid having count(*) > 1) d;`,
    `select 'topicMissing', count(*) from in_topic t where not exists (select 1 from got g where g.id = t.id);`,
    `select 'unexpected', count(*) from (select distinct id from got) g
       where not exists (select 1 from in_topic t where t.id = g.id);`,
    `select 'rollupTotal', coalesce(sum(events), 0) from events_hourly;`,
    `select 'rollupGroupsWrong', count(*) from events_hourly h
       full join (select date_trunc('hour', received_at, 'UTC') as hour, type, country, device_type, count(*) as n
                    from got group by 1, 2, 3, 4) r using (hour, type, country, device_type)
      where h.events is distinct from r.n;`,
    `select 'deviceHoursWrong', count(*) from events_hourly_devices h
       full join (select date_trunc('hour', received_at, 'UTC') as hour, count(distinct device_id) as n
                    from got where device_id is not null group by 1) r using (hour)
      where h.devices is distinct from r.n;`,
    `select 'lostSample', coalesce(string_agg(rid, ','), '') from
       (select rid from acked a where not exists (select 1 from got g where g.rid = a.rid) order by rid limit 5) s;`,
    `select 'duplicatedSample', coalesce(string_agg(rid, ','), '') from
       (select rid from got join acked using (rid) group by rid having count(*) > 1 order by rid limit 5) s;`,
    '',
  ].join('\n');
}

const numeric = [
  'rows',
  'distinctIds',
  'acknowledged',
  'lost',
  'duplicated',
  'topicMissing',
  'unexpected',
  'rollupTotal',
  'rollupGroupsWrong',
  'deviceHoursWrong',
] as const;

/** The script's output lines as a SinkAudit; throws when a figure is missing (the script changed). */
export function parseSinkAudit(lines: readonly string[]): SinkAudit {
  const values = new Map<string, string>();
  for (const line of lines) {
    const tab = line.indexOf('\t');
    if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1));
  }
  const figure = (name: string): number => {
    const n = Number(values.get(name));
    if (!values.has(name) || !Number.isSafeInteger(n)) {
      throw new Error(`the sink audit gave no number for ${name}: ${lines.join(' | ').slice(0, 300)}`);
    }
    return n;
  };
  const list = (name: string): string[] => (values.get(name) ?? '').split(',').filter((s) => s !== '');
  const figures = Object.fromEntries(numeric.map((name) => [name, figure(name)])) as Record<
    (typeof numeric)[number],
    number
  >;
  return { ...figures, lostSample: list('lostSample'), duplicatedSample: list('duplicatedSample') };
}
