import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { LOWEST_PICKED, ephemeralPortRange, freePort } from '../src/ports.js';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port;
const close = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('freePort', () => {
  const { low, high } = ephemeralPortRange();
  const inRange = (port: number): boolean => port >= low && port <= high;

  it('picks ports outside the ephemeral range, which outgoing connections never hold', async () => {
    assert.ok(low > 21_000, `this check needs room below the ephemeral range (${low}-${high})`);
    for (let i = 0; i < 20; i += 1) {
      const port = await freePort();
      assert.ok(!inRange(port), `${port} is in ${low}-${high}`);
      await close(await listen(port)); // and a server can have it
    }
    // The control: what the kernel picks for port 0 (the old way) is inside the range.
    const kernel = await listen(0);
    assert.ok(inRange(portOf(kernel)), `the kernel's pick ${portOf(kernel)}`);
    await close(kernel);
  });

  it('passes over a port something listens on', async () => {
    const held = await listen(await freePort());
    try {
      const taken = portOf(held);
      // Each attempt draws a span, then a port in it: aim the first attempt at the held port.
      const spanOf = taken < low ? 0 : 0.99;
      const [from, to] = taken < low ? [LOWEST_PICKED, low - 1] : [high + 1, 65_535];
      const draws = [spanOf, (taken - from + 0.5) / (to - from + 1)];
      const port = await freePort('127.0.0.1', () => draws.shift() ?? Math.random());
      assert.equal(draws.length, 0, 'the first attempt drew the held port');
      assert.notEqual(port, taken);
      assert.ok(!inRange(port));
    } finally {
      await close(held);
    }
  });
});
