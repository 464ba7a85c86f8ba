import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * The kernel's range of local ports for outgoing connections (and for listen on port 0), from
 * /proc/sys/net/ipv4/ip_local_port_range; Linux's default when it cannot be read.
 */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) <= (high as number)) {
      return { low: low as number, high: high as number };
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return { low: 32768, high: 60999 };
}

/** Ports picked below this are left to well-known and configured services (.env's 6380, 19092, ...). */
export const LOWEST_PICKED = 20_000;

/**
 * A TCP port on `host` that nothing listens on right now, for a server started a moment later.
 * It is picked outside the ephemeral range: a port from inside it (what listen on port 0 gives)
 * can meanwhile become the local port of any outgoing connection on the machine (a client of
 * Kafka, PostgreSQL, Redis), and the server's listen then fails with EADDRINUSE for as long as
 * that connection lives. One CI run lost a test so (the consumers' port, held for 4 minutes).
 * Where the range leaves no room (below 20000 or above it), the kernel's pick, as before.
 */
export async function freePort(host = '127.0.0.1', random: () => number = Math.random): Promise<number> {
  const { low, high } = ephemeralPortRange();
  const candidates: [number, number][] = [
    [LOWEST_PICKED, low - 1],
    [high + 1, 65_535],
  ];
  const spans = candidates.filter(([from, to]) => to - from >= 1000);
  for (let attempt = 0; attempt < 50 && spans.length > 0; attempt += 1) {
    const [from, to] = spans[Math.floor(random() * spans.length)] as [number, number];
    const port = from + Math.floor(random() * (to - from + 1));
    if ((await listenOnce(port, host)) !== undefined) return port;
  }
  const port = await listenOnce(0, host);
  if (port === undefined) throw new Error(`no free TCP port on ${host}`);
  return port;
}

/** Listens on `port` and closes again: the port it got, or undefined when it was taken. */
function listenOnce(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(undefined) : reject(error),
    );
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** Whether something accepts TCP connections on host:port. */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The wanted port when it is free, otherwise a free one (and the caller says so). */
export async function preferPort(wanted: number, host = '127.0.0.1'): Promise<number> {
  return (await isListening(wanted, host)) ? freePort(host) : wanted;
}

/**
 * Ports of each node of a local cluster: node n on the broker port + 2(n-1) and the controller
 * port + 2(n-1) (19092/19093, 19094/19095, 19096/19097 with the .env defaults); a taken one is
 * replaced by a free one, and `log` says so.
 */
export async function preferClusterPorts(
  nodes: number,
  kafkaPort: number,
  controllerPort: number,
  log: (line: string) => void,
): Promise<{ port: number; controllerPort: number }[]> {
  const chosen: { port: number; controllerPort: number }[] = [];
  const taken = new Set<number>();
  const prefer = async (wanted: number, what: string): Promise<number> => {
    let got = await preferPort(wanted);
    while (taken.has(got)) got = await freePort();
    taken.add(got);
    if (got !== wanted) log(`port ${wanted} (${what}) is taken; using ${got} instead`);
    return got;
  };
  for (let i = 0; i < nodes; i++) {
    chosen.push({
      port: await prefer(kafkaPort + 2 * i, `Kafka node ${i + 1}`),
      controllerPort: await prefer(controllerPort + 2 * i, `Kafka node ${i + 1} controller`),
    });
  }
  return chosen;
}
