import path from 'node:path';

/**
 * A reader for the subset of the Dockerfile syntax the service images use (no parser
 * directives besides `syntax`, `\` as the escape character), and the .dockerignore rules of
 * the build context. Enough to check an image without a Docker engine.
 */
export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Leading `--name=value` flags (`--from=build`, `--mount=...`). */
  readonly flags: Readonly<Record<string, string>>;
  /** The rest of the instruction, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  /** The image or stage it starts from, build arguments resolved. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Build arguments declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

function splitFlags(text: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!match) return { flags, rest };
    flags[match[1] as string] = match[2] ?? '';
    rest = rest.slice(match[0].length);
  }
}

/** Instructions in order: comments dropped, `\`-continued lines joined (comment lines inside too, as Docker does). */
export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1);
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const match = /^([A-Za-z]+)\s*(.*)$/s.exec(full);
    if (!match) throw new DockerfileError(`line ${startLine}: cannot read ${JSON.stringify(full)}`);
    const { flags, rest } = splitFlags(match[2] as string);
    instructions.push({ keyword: (match[1] as string).toUpperCase(), flags, args: rest.trim(), line: startLine });
  });
  if (pending !== '') throw new DockerfileError('the file ends inside a continued line');
  return instructions;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** `$NAME` and `${NAME}` replaced by `lookup(NAME)`. */
function expand(text: string, lookup: (name: string) => string): string {
  return text.replace(VARIABLE, (_, braced?: string, bare?: string) => lookup((braced ?? bare) as string));
}

/** Instructions whose arguments Docker expands with the stage's build arguments (RUN and CMD are left to the shell). */
const EXPANDED = new Set(['ADD', 'COPY', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/**
 * The stages as Docker builds them with the given `--build-arg` values: a build argument is
 * seen by FROM when declared before the first FROM, and inside a stage only after the stage
 * declares it again (`ARG NAME`); an undeclared one expands to nothing, as in Docker.
 */
export function parseDockerfile(text: string, buildArgs: Readonly<Record<string, string>> = {}): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const globalValues: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  let current:
    { name: string | undefined; base: string; instructions: Instruction[]; args: Record<string, string> } | undefined;
  const close = (): void => {
    if (current)
      stages.push({ index: stages.length, name: current.name, base: current.base, instructions: current.instructions });
  };
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match)
        throw new DockerfileError(`line ${instruction.line}: FROM ${instruction.args} is not "FROM image [AS name]"`);
      close();
      const base = expand(match[1] as string, (name) => {
        const value = globalValues[name];
        if (value === undefined)
          throw new DockerfileError(`line ${instruction.line}: build argument ${name} has no value`);
        return value;
      });
      current = { name: match[2], base, instructions: [], args: {} };
    } else if (!current) {
      if (instruction.keyword !== 'ARG') {
        throw new DockerfileError(`line ${instruction.line}: only ARG may come before the first FROM`);
      }
      const [name, value] = instruction.args.split('=', 2).map((part) => part.trim()) as [string, string | undefined];
      globalArgs[name] = value ?? '';
      globalValues[name] = buildArgs[name] ?? value;
    } else if (instruction.keyword === 'ARG') {
      const [name, value] = instruction.args.split('=', 2).map((part) => part.trim()) as [string, string | undefined];
      current.args[name] = buildArgs[name] ?? value ?? globalValues[name] ?? '';
      current.instructions.push(instruction);
    } else if (EXPANDED.has(instruction.keyword)) {
      const scope = current.args;
      current.instructions.push({ ...instruction, args: expand(instruction.args, (name) => scope[name] ?? '') });
    } else {
      current.instructions.push(instruction);
    }
  }
  close();
  if (stages.length === 0) throw new DockerfileError('no FROM instruction');
  return { globalArgs, stages };
}

export function finalStage(dockerfile: Dockerfile): Stage {
  return dockerfile.stages[dockerfile.stages.length - 1] as Stage;
}

/** The stage a FROM or COPY --from names, or undefined for an image. */
export function stageNamed(dockerfile: Dockerfile, name: string): Stage | undefined {
  return dockerfile.stages.find((s) => s.name === name || String(s.index) === name);
}

/** Instructions of one stage including those it inherits through `FROM <stage>`. */
export function effectiveInstructions(dockerfile: Dockerfile, stage: Stage): Instruction[] {
  const parent = stageNamed(dockerfile, stage.base);
  return [
    ...(parent && parent.index < stage.index ? effectiveInstructions(dockerfile, parent) : []),
    ...stage.instructions,
  ];
}

/**
 * The stage with the instructions it inherits through `FROM <stage>` in front of its own: what
 * USER, CMD, WORKDIR, ENV, EXPOSE and HEALTHCHECK of the image it builds come to.
 */
export function flattened(dockerfile: Dockerfile, stage: Stage): Stage {
  return { ...stage, instructions: effectiveInstructions(dockerfile, stage) };
}

/** `["a", "b"]` (exec form) or a shell command, as an argv. */
export function commandArgv(args: string): string[] {
  if (args.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      throw new DockerfileError(`${args} is not a JSON array (exec form)`);
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new DockerfileError(`${args} must be an array of strings`);
    }
    return parsed;
  }
  return ['/bin/sh', '-c', args];
}

/** `ENV a=1 b=2` (and the legacy `ENV a 1`) as key/value pairs; values may be double-quoted. */
export function envPairs(args: string): Record<string, string> {
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (legacy) return { [legacy[1] as string]: (legacy[2] as string).trim() };
  const result: Record<string, string> = {};
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)\s*/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = pair.exec(args)) !== null && match[0] !== '') {
    const raw = match[2] as string;
    result[match[1] as string] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    consumed = pair.lastIndex;
  }
  if (consumed !== args.length) throw new DockerfileError(`ENV ${args}: expected KEY=value pairs`);
  return result;
}

/** The environment the image starts containers with (ENV of the final stage and its parents). */
export function imageEnvironment(dockerfile: Dockerfile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of effectiveInstructions(dockerfile, finalStage(dockerfile))) {
    if (i.keyword === 'ENV') Object.assign(env, envPairs(i.args));
  }
  return env;
}

export interface HealthcheckInstruction {
  readonly options: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
}

export function healthcheckOf(stage: Stage): HealthcheckInstruction | undefined {
  const instruction = [...stage.instructions].reverse().find((i) => i.keyword === 'HEALTHCHECK');
  if (!instruction) return undefined;
  if (/^NONE$/i.test(instruction.args)) return undefined;
  const match = /^CMD\s+(.*)$/s.exec(instruction.args);
  if (!match)
    throw new DockerfileError(`line ${instruction.line}: HEALTHCHECK must be "HEALTHCHECK [options] CMD ..."`);
  return { options: instruction.flags, argv: commandArgv((match[1] as string).trim()) };
}

/** The last value of a single-valued instruction (CMD, USER, WORKDIR) in a stage, or undefined. */
export function lastArgs(stage: Stage, keyword: string): string | undefined {
  return [...stage.instructions].reverse().find((i) => i.keyword === keyword)?.args;
}

/** The working directory after every WORKDIR of the stage (relative ones build on the previous). */
export function workdirOf(stage: Stage): string {
  return stage.instructions
    .filter((i) => i.keyword === 'WORKDIR')
    .reduce((dir, i) => path.posix.resolve(dir, i.args), '/');
}

export interface CopyInstruction {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
  readonly line: number;
}

export function copiesOf(stage: Stage): CopyInstruction[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const parts = i.args.startsWith('[') ? commandArgv(i.args) : i.args.split(/\s+/);
      if (parts.length < 2) throw new DockerfileError(`line ${i.line}: COPY needs a source and a destination`);
      return { from: i.flags['from'], sources: parts.slice(0, -1), destination: parts.at(-1) as string, line: i.line };
    });
}

/**
 * The .dockerignore of a build context as a predicate: Docker's rules (Go filepath.Match
 * patterns plus `**`, a leading `!` re-includes, the last matching line wins, and a path is
 * excluded when it or one of its parent folders matches).
 */
export function dockerignoreMatcher(text: string): (relativePath: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = path.posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+/, '');
      return { negated, regex: patternToRegex(pattern) };
    });
  return (relativePath) => {
    const parts = path.posix.normalize(relativePath).split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negated;
    }
    return excluded;
  };
}

function patternToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of folders, including none; a trailing `**` anything.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw new DockerfileError(`.dockerignore: unterminated "[" in ${pattern}`);
      source += `[${pattern
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\')}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
