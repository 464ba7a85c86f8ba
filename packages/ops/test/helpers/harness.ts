import { after, before, beforeEach } from 'node:test';
import { main, type MainOptions } from '../../src/main.js';
import { FakeApiServer, closedPortUrl, writeKubeconfig, type KubeconfigFile } from './fake-api-server.js';

export interface RunResult {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

export async function runCli(
  argv: readonly string[],
  options: MainOptions & { signal?: AbortSignal; onOut?: (line: string) => void } = {},
): Promise<RunResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    {
      out: (line) => {
        out.push(line);
        options.onOut?.(line);
      },
      err: (line) => err.push(line),
      signal: options.signal,
    },
    options,
  );
  return { code, out, err };
}

/**
 * One fake API server per test file, a kubeconfig pointing at it through KUBECONFIG (as an
 * operator's shell would have it), and a clean slate of routes before each test.
 */
export function useFakeApiServer(): { readonly api: FakeApiServer; readonly kubeconfig: KubeconfigFile } {
  const state: { api?: FakeApiServer; kubeconfig?: KubeconfigFile } = {};
  let previous: string | undefined;
  before(async () => {
    state.api = await FakeApiServer.start();
    state.kubeconfig = writeKubeconfig(state.api.url, await closedPortUrl());
    previous = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = state.kubeconfig.path;
  });
  beforeEach(() => state.api?.reset());
  after(async () => {
    if (previous === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = previous;
    state.kubeconfig?.remove();
    await state.api?.close();
  });
  return {
    get api(): FakeApiServer {
      if (!state.api) throw new Error('the fake API server starts in before()');
      return state.api;
    },
    get kubeconfig(): KubeconfigFile {
      if (!state.kubeconfig) throw new Error('the kubeconfig is written in before()');
      return state.kubeconfig;
    },
  };
}
