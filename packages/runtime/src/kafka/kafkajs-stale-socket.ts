import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/**
 * kafkajs 2.2.4 leaves its handlers on a connection's socket when it closes the connection
 * itself (disconnect(): socket.end()). The broker's side of that close, its FIN, can arrive after
 * the same Connection has connected again on a new socket; the old socket's 'end' handler then
 * acts on the new connection: it rejects the requests in flight there as "Closed connection" and
 * ends the new socket ("write after end" for the next request, tulios/kafkajs#928), and a late
 * 'data' would go to the new connection's decoder. A Produce request the broker had already
 * written is rejected, and the producer's retrier sends it again: a duplicate. A producer
 * disconnected and connected again stored its next send twice in about 1 try in 15 (the
 * producer contract test, on one broker). Here the socket a disconnect() ended is detached from
 * the connection.
 */
interface Connection {
  socket: Socket | null | undefined;
  disconnect: (this: Connection) => Promise<boolean>;
}

const require = createRequire(import.meta.url);
const connection = (require('kafkajs/src/network/connection.js') as { prototype: Connection }).prototype;

/** The events kafkajs's socket factory listens to (besides the one-time 'connect'). */
const HANDLED_EVENTS = ['data', 'end', 'error', 'timeout'] as const;

/** The socket no longer speaks for any connection: its events reach nobody, its bytes are drained. */
function detach(socket: Socket): void {
  for (const event of HANDLED_EVENTS) socket.removeAllListeners(event);
  socket.on('error', () => undefined);
  socket.resume();
}

const original = { disconnect: connection.disconnect };

/**
 * kafkajs's disconnect(), then the socket it ended is detached. Its 'end' and late 'data' are I/O
 * events, so none can come between the end() and the detach (a microtask later); and connect()
 * makes no new socket while the connection is disconnecting, so the socket taken first is the
 * one ended.
 */
async function disconnectDetached(this: Connection): Promise<boolean> {
  const socket = this.socket;
  const result = await original.disconnect.call(this);
  if (socket) detach(socket);
  return result;
}

/** Turns the fix on (as importing this module does) or off: off is kafkajs as published. */
export function useKafkajsStaleSocketFix(on: boolean): void {
  connection.disconnect = on ? disconnectDetached : original.disconnect;
}

useKafkajsStaleSocketFix(true);
