import net from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
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
