/**
 * Every relative link in the README, docs/ and every other markdown file leads somewhere: the file or folder exists, and
 * an anchor names a heading of the target as GitHub numbers them. A newcomer follows these links
 * to find a behaviour in one hop, so a file moved or a heading renamed must fail here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@pushtech/devstack';
import { anchorsOf, headingAnchor, linksOf } from '@pushtech/bench/markdown';

/** Folders that hold no documentation of the project (installed, built or run-time state). */
const SKIP = new Set([
  'node_modules',
  'dist',
  'coverage',
  '.git',
  '.devstack',
  '.turbo',
  '.bench-results',
  '.test-results',
  '.test-artifacts',
]);

/** Every markdown file of the repository, relative to its root: README.md, docs/, each package's README. */
function markdownFiles(dir = ''): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : markdownFiles(rel);
    return entry.name.endsWith('.md') ? [rel] : [];
  });
}

const docs = markdownFiles().sort();

/** What is wrong with one link of `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: and the like
  const [rawPath = '', anchor] = target.split('#', 2);
  const linked =
    rawPath === '' ? path.join(repoRoot, file) : path.resolve(repoRoot, path.dirname(file), decodeURI(rawPath));
  if (!linked.startsWith(repoRoot)) return `${target} leaves the repository`;
  if (!existsSync(linked)) return `${target}: no such file or folder`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(linked).isDirectory() || !linked.endsWith('.md'))
    return `${target}: an anchor into a file that is not markdown`;
  return anchorsOf(readFileSync(linked, 'utf8')).has(anchor) ? undefined : `${target}: no heading with that anchor`;
}

describe('relative links in the markdown files', () => {
  it('name GitHub anchors as GitHub makes them', () => {
    const cases: [string, string][] = [
      [
        'Whole pipeline: tracker -> Redis -> kafkastore -> Kafka -> consumer',
        'whole-pipeline-tracker---redis---kafkastore---kafka---consumer',
      ],
      [
        'Redis durability: what a 2xx survives, and what it costs',
        'redis-durability-what-a-2xx-survives-and-what-it-costs',
      ],
      ['Local settings (`.env`)', 'local-settings-env'],
      ['Kafka client: kafkajs vs @platformatic/kafka', 'kafka-client-kafkajs-vs-platformatickafka'],
      [
        'Consumer dedup state: a key per event (old) against offsets + bucketed intsets (new)',
        'consumer-dedup-state-a-key-per-event-old-against-offsets--bucketed-intsets-new',
      ],
      ['Where is …', 'where-is-'],
    ];
    for (const [heading, anchor] of cases) assert.equal(headingAnchor(heading), anchor, heading);
    assert.deepEqual([...anchorsOf('# A\n\n```sh\n# not a heading\n```\n## A\n### B?\n')], ['a', 'a-1', 'b']);
  });

  it('finds links outside code only', () => {
    const md = 'see [x](a.md) and `[y](b.md)`\n```\n[z](c.md)\n```\n![img](d.svg) [t](e.md#f "title")\n';
    assert.deepEqual(
      linksOf(md).map((l) => l.target),
      ['a.md', 'd.svg', 'e.md#f'],
    );
  });

  it('reports a missing file and a missing anchor', () => {
    assert.match(brokenLink('README.md', 'docs/no-such-file.md') ?? '', /no such file/);
    assert.match(brokenLink('README.md', 'docs/ARCHITECTURE.md#no-such-heading') ?? '', /no heading/);
    assert.equal(
      brokenLink('README.md', 'docs/ARCHITECTURE.md#guarantees-each-one-has-a-test-that-tries-to-break-it'),
      undefined,
    );
  });

  it('include the README and docs/', () => {
    assert.ok(docs.includes('README.md') && docs.includes('docs/ARCHITECTURE.md'), docs.join(', '));
  });

  for (const file of docs) {
    it(`resolve in ${file}`, () => {
      const broken = linksOf(readFileSync(path.join(repoRoot, file), 'utf8')).flatMap(({ line, target }) => {
        const why = brokenLink(file, target);
        return why === undefined ? [] : [`${file}:${line}: ${why}`];
      });
      assert.deepEqual(broken, []);
    });
  }
});
