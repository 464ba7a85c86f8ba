import ts from 'typescript';
import { describeSetting, redactUrl, type ConfigSchema, type SettingDescription } from '@pushtech/runtime';

/**
 * The configuration reference (docs/configuration.md), made from the settings' own schemas:
 * `describeSetting` tells kind, accepted values, default and secrecy; the doc comment above each
 * `KEY: setting.…(…)` in its source file tells what it is for. A service's schema spreads shared
 * ones (`...commonSettings`), so a setting is matched to its source by the schema object itself.
 */

/** What one service (or tool) reads: a heading, who reads it, and its schema. */
export interface ConfigSection {
  readonly title: string;
  readonly intro: string;
  readonly settings: ConfigSchema;
}

/** A schema and the file that defines its settings with `setting.…(…)` (path from the repo root). */
export interface SettingSource {
  readonly file: string;
  readonly settings: ConfigSchema;
}

export interface ReferenceInput {
  readonly sections: readonly ConfigSection[];
  readonly sources: readonly SettingSource[];
  readonly errorCodes: Readonly<Record<string, string>>;
  /** Reads a source file (path from the repo root). */
  readonly read: (file: string) => string;
}

/** What a source file says about one setting, beyond its schema. */
export interface SettingComment {
  /** The doc comment above it, on one line; '' when it has none. */
  readonly doc: string;
  /** The default's source text when it is computed at start (e.g. `hostname()`), not a constant. */
  readonly computedDefault?: string;
}

/** Every `KEY: setting.…(…)` in a TypeScript source, with its doc comment. */
export function settingComments(file: string, text: string): Map<string, SettingComment> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found = new Map<string, SettingComment>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && isSettingCall(node.initializer)) {
      const key = node.name.getText(source);
      if (found.has(key)) throw new Error(`${file}: ${key} is defined twice; one definition per file`);
      const doc = ts
        .getJSDocCommentsAndTags(node)
        .filter(ts.isJSDoc)
        .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      const computed = computedDefault(node.initializer, source);
      found.set(key, computed === undefined ? { doc } : { doc, computedDefault: computed });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isSettingCall(node: ts.Expression): node is ts.CallExpression {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    ts.isIdentifier(node.expression.expression) &&
    node.expression.expression.text === 'setting'
  );
}

/** The `default:` option's text when it names anything (a call, a variable): its value differs per machine. */
function computedDefault(call: ts.CallExpression, source: ts.SourceFile): string | undefined {
  const options = call.arguments.find(ts.isObjectLiteralExpression);
  const option = options?.properties.find(
    (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(source) === 'default',
  );
  if (!option) return undefined;
  let names = false;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names = true;
    ts.forEachChild(node, visit);
  };
  visit(option.initializer);
  return names ? option.initializer.getText(source) : undefined;
}

interface Row {
  readonly name: string;
  readonly description: SettingDescription;
  readonly comment: SettingComment;
}

/** docs/configuration.md as text; throws naming every setting it cannot describe. */
export function renderConfigReference(input: ReferenceInput): string {
  const bySchema = new Map<unknown, SettingComment & { file: string }>();
  const problems: string[] = [];
  for (const source of input.sources) {
    const comments = settingComments(source.file, input.read(source.file));
    for (const [key, schema] of Object.entries(source.settings)) {
      const comment = comments.get(key);
      if (!comment) continue;
      // A schema object is made by one `setting.…(…)` call: two files naming it means one of
      // them defines another setting of the same name (an override), which must not take its doc.
      const earlier = bySchema.get(schema);
      if (earlier && earlier.file !== source.file) {
        problems.push(
          `${key}: defined in ${earlier.file} and in ${source.file}; list each file with the schema it defines`,
        );
      }
      bySchema.set(schema, { ...comment, file: source.file });
    }
  }
  const sections = input.sections.map((section) => {
    const rows: Row[] = [];
    for (const [name, schema] of Object.entries(section.settings)) {
      const description = describeSetting(schema);
      const comment = bySchema.get(schema);
      if (!description) problems.push(`${section.title} ${name}: not made by a setting builder`);
      else if (!comment) problems.push(`${section.title} ${name}: defined in none of the source files listed`);
      else if (comment.doc === '') problems.push(`${comment.file}: add a /** … */ comment above ${name}`);
      else rows.push({ name, description, comment });
    }
    return { section, rows };
  });
  if (problems.length > 0) {
    throw new Error(`cannot make the configuration reference:\n  ${[...new Set(problems)].join('\n  ')}`);
  }

  const lines = [
    '# Configuration reference',
    '',
    "<!-- Generated by `npm run docs:config` from the settings' schemas and the comments above them; edit those, not this file. -->",
    '',
    'Every service reads its configuration from environment variables only (for local runs, defaults come from',
    '`.env` at the repository root), validates it once at start and stops with a message naming each bad variable',
    "(error code `PT_ERR_CONFIG`). An empty variable counts as unset. A secret's value is never printed, nor the",
    'password in a URL. *required* means there is no default: the service does not start without it.',
    '',
    sections.map(({ section }) => `[${section.title}](#${anchorOf(section.title)})`).join(' · ') +
      ' · [Error codes](#error-codes)',
    '',
  ];
  for (const { section, rows } of sections) {
    lines.push(`## ${section.title}`, '', section.intro, '');
    if (rows.length === 0) {
      lines.push('No settings of its own.', '');
      continue;
    }
    lines.push(
      '| Variable | Type | Default | Accepted values | Secret | Meaning |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const row of rows) {
      const d = row.description;
      lines.push(
        `| \`${row.name}\` | ${kindNames[d.kind]} | ${defaultCell(d, row.comment)} | ${acceptedCell(d)} | ${d.secret ? 'yes' : 'no'} | ${cell(row.comment.doc)} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '## Error codes',
    '',
    'A `PushtechError` carries one of these codes (`error.code`, and `code` in the log line).',
    '',
    '| Code | Meaning |',
    '| --- | --- |',
  );
  for (const [code, meaning] of Object.entries(input.errorCodes)) lines.push(`| \`${code}\` | ${cell(meaning)} |`);
  lines.push('');
  return lines.join('\n');
}

const kindNames: Record<SettingDescription['kind'], string> = {
  string: 'string',
  integer: 'integer',
  port: 'port',
  boolean: 'boolean',
  oneOf: 'one of',
  url: 'URL',
  hostPorts: 'host:port list',
  list: 'list',
};

function defaultCell(d: SettingDescription, comment: SettingComment): string {
  if (comment.computedDefault !== undefined) return `computed: \`${cell(comment.computedDefault, true)}\``;
  const value = d.default;
  if (value === undefined) return '*required*';
  const text = Array.isArray(value) ? value.join(',') : String(value);
  if (text === '') return 'empty';
  if (d.secret) return '(set, not shown)';
  return `\`${cell(d.kind === 'url' ? redactUrl(text) : text, true)}\``;
}

function acceptedCell(d: SettingDescription): string {
  if (d.kind === 'integer' || d.kind === 'port') return `${d.min} to ${d.max}`;
  if (d.values) return d.values.map((v) => `\`${v}\``).join(', ');
  return cell(d.accepts);
}

/** Text for a table cell: code spans kept, `|` escaped, `*` `<` `>` `[` `]` shown as themselves. */
function cell(text: string, code = false): string {
  if (code) return text.replace(/\|/g, '\\|');
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part.replace(/\|/g, '\\|') : part.replace(/[\\*<>[\]|]/g, (c) => `\\${c}`)))
    .join('`');
}

function anchorOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/**
 * What the reference lacks: each section's settings as a row under its heading, and each error
 * code as a row. Independent of the renderer, so a renderer that drops a row is caught too.
 */
export function missingFromReference(
  markdown: string,
  sections: readonly Pick<ConfigSection, 'title' | 'settings'>[],
  errorCodes: Readonly<Record<string, string>>,
): string[] {
  const headings = new Map<string, string>();
  for (const part of markdown.split(/^## /m).slice(1)) {
    const newline = part.indexOf('\n');
    headings.set(part.slice(0, newline === -1 ? undefined : newline).trim(), part);
  }
  const missing: string[] = [];
  for (const section of sections) {
    const body = headings.get(section.title);
    if (body === undefined) {
      missing.push(`section ${section.title}`);
      continue;
    }
    for (const name of Object.keys(section.settings)) {
      if (!body.includes(`\n| \`${name}\` |`)) missing.push(`${section.title}: ${name}`);
    }
  }
  const codes = headings.get('Error codes') ?? '';
  for (const code of Object.keys(errorCodes)) {
    if (!codes.includes(`\n| \`${code}\` |`)) missing.push(`error code ${code}`);
  }
  return missing;
}
