import { ConfigError } from './config.js';
import { describeError } from './errors.js';
import { loadEnv, type Env } from './dotenv.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type LogFormat, type LogLevel, type Logger } from './logger.js';

/** The settings `runService` itself needs from a service's config. */
export interface ServiceBaseConfig {
  readonly LOG_LEVEL: LogLevel;
  readonly LOG_FORMAT: LogFormat;
  readonly SHUTDOWN_TIMEOUT_MS: number;
}

export interface ServiceContext<C> {
  readonly config: C;
  /** The environment the config was read from (a consumer's own settings are read from it too). */
  readonly env: Env;
  readonly logger: Logger;
  /** Stop steps registered here run in reverse order at SIGTERM/SIGINT or a fatal error. */
  readonly lifecycle: Lifecycle;
}

/**
 * How the process learns that it must stop: `signals` (SIGTERM/SIGINT, the usual), `supervisor`
 * (a worker whose supervisor closes the IPC channel, or sends a signal), or `none` when the
 * service's start handles them itself (a supervisor of workers).
 */
export type StopTrigger = 'signals' | 'supervisor' | 'none';

export interface ServiceDefinition<C extends ServiceBaseConfig> {
  /** The `service` field of every log line. */
  readonly name: string;
  /** Parses and validates the environment; throws a ConfigError naming the variable. */
  readonly settings: (env: Env, cwd: string) => C;
  /** Extra fields on every log line (a worker's number). */
  readonly logBindings?: Readonly<Record<string, unknown>>;
  readonly stopOn?: (config: C) => StopTrigger;
  /** Builds and starts the service, registering its stop steps on the lifecycle. */
  readonly start: (context: ServiceContext<C>) => Promise<void>;
}

/** Injected by tests; a real entrypoint uses the process's own. */
export interface ServiceProcess {
  readonly env: Env;
  readonly cwd: string;
  readonly stderr: { write(text: string): unknown };
  readonly exit: (code: number) => void;
  readonly process: NodeJS.Process;
}

const realProcess = (): ServiceProcess => ({
  env: process.env,
  cwd: process.cwd(),
  stderr: process.stderr,
  exit: (code) => process.exit(code),
  process,
});

/**
 * The one way a service boots: read the environment once (a bad value ends the process with one
 * line naming the variable), make the logger and the lifecycle, start, and turn a failed start
 * into a graceful stop of what was already started, then a non-zero exit.
 */
export async function runService<C extends ServiceBaseConfig>(
  definition: ServiceDefinition<C>,
  host: ServiceProcess = realProcess(),
): Promise<void> {
  let env: Env;
  let config: C;
  try {
    env = loadEnv({ processEnv: host.env, cwd: host.cwd });
    config = definition.settings(env, host.cwd);
  } catch (error: unknown) {
    host.stderr.write(`${describeError(error)}\n`);
    host.exit(1);
    return;
  }
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const bound = definition.logBindings === undefined ? logger : logger.child(definition.logBindings);
  const lifecycle = new Lifecycle({ logger: bound, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, exit: host.exit });
  const trigger = definition.stopOn?.(config) ?? 'signals';
  if (trigger === 'signals') lifecycle.installSignalHandlers(host.process);
  else if (trigger === 'supervisor') lifecycle.installSupervisorHandlers(host.process);
  try {
    await definition.start({ config, env, logger: bound, lifecycle });
  } catch (error: unknown) {
    if (!(error instanceof ConfigError)) {
      lifecycle.fail(error, `${definition.name} failed to start`);
      return;
    }
    // A setting read by a part (a consumer's own) is as much the operator's to fix as any other.
    host.stderr.write(`${describeError(error)}\n`);
    void lifecycle.shutdown('invalid configuration', 1);
  }
}
