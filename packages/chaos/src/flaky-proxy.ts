import net from 'node:net';

/** What the proxy does to a connection when it opens, and to each answer on it. */
export interface FlakyNetwork {
  /** Of the new connections, the share closed at once, before any byte reaches the tracker. */
  readonly dropShare: number;
  /**
   * Of the answers, the share thrown away and the client's connection reset (RST) instead: the
   * request was sent, the tracker may have stored it, the client cannot know.
   */
  readonly resetShare: number;
  /** Of the answers (not reset), the share held back `delayMs` before the client gets them. */
  readonly delayShare: number;
  readonly delayMs: number;
}

export interface FlakyProxyStats {
  connections: number;
  dropped: number;
  /** Answers the tracker gave that the client never got: its connection was reset instead. */
  resetAfterSend: number;
  delayed: number;
  passed: number;
}

export interface FlakyProxy {
  /** `http://127.0.0.1:<port>`, in front of the target. */
  readonly url: string;
  readonly stats: Readonly<FlakyProxyStats>;
  /** Stops injecting faults: what comes from now on passes untouched (the network recovered). */
  heal(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy between HTTP clients and the tracker that misbehaves as a mobile network does:
 * it drops new connections, resets connections after the request went through (the answer is
 * lost), and delays answers. Faults are drawn from `random` (seeded), per connection and per
 * chunk of answer the tracker sends (a small answer is one chunk).
 */
export async function startFlakyProxy(
  target: { host: string; port: number },
  network: FlakyNetwork,
  random: () => number,
): Promise<FlakyProxy> {
  const stats: FlakyProxyStats = { connections: 0, dropped: 0, resetAfterSend: 0, delayed: 0, passed: 0 };
  const sockets = new Set<net.Socket>();
  let healthy = false;

  const server = net.createServer((client) => {
    stats.connections += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (!healthy && random() < network.dropShare) {
      stats.dropped += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      // Answers still held back go out first; the client's side closes after them.
      void pending.then(() => client.end());
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    // Answers keep their order on the connection: each waits for the one before it.
    let pending: Promise<void> = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      if (healthy) {
        stats.passed += 1;
        pending = pending.then(() => void client.write(chunk));
        return;
      }
      const roll = random();
      if (roll < network.resetShare) {
        stats.resetAfterSend += 1;
        upstream.destroy();
        pending = pending.then(() => void client.resetAndDestroy());
      } else if (roll < network.resetShare + network.delayShare) {
        stats.delayed += 1;
        pending = pending.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (!client.destroyed) client.write(chunk);
                resolve();
              }, network.delayMs),
            ),
        );
      } else {
        stats.passed += 1;
        pending = pending.then(() => void (client.destroyed ? undefined : client.write(chunk)));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('flaky proxy: no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stats,
    heal() {
      healthy = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
