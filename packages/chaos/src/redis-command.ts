import net from 'node:net';

/** A reply as RESP2 delivers it: status and bulk strings, integers, arrays, nil. */
export type RedisReply = string | number | null | RedisReply[];

export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
}

/**
 * Parses one RESP2 reply from the start of `buffer`. Returns the reply and the bytes it took,
 * or undefined while the reply is still incomplete.
 */
export function parseReply(
  buffer: Buffer,
  start = 0,
): { reply: RedisReply | RedisReplyError; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const kind = String.fromCharCode(buffer[start] ?? 0);
  const line = buffer.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (kind) {
    case '+':
      return { reply: line, end: next };
    case '-':
      return { reply: new RedisReplyError(line), end: next };
    case ':':
      return { reply: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, end: next };
      const items: RedisReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        if (item.reply instanceof RedisReplyError) return { reply: item.reply, end: item.end };
        items.push(item.reply);
        at = item.end;
      }
      return { reply: items, end: at };
    }
    default:
      throw new RedisReplyError(`unexpected RESP reply type ${JSON.stringify(kind)}`);
  }
}

function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = String(arg);
    parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

/**
 * Runs one command on a fresh connection. The suite talks to Redis only to look (LLEN) and,
 * in the loss control, to take entries away; a connection per command keeps that free of
 * reconnect state while the server is being killed and restarted under it.
 */
export function redisCommand(url: string, args: readonly (string | number)[], timeoutMs = 2_000): Promise<RedisReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    let received = Buffer.alloc(0);
    const done = (error: Error | undefined, reply?: RedisReply): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    socket.setTimeout(timeoutMs, () =>
      done(new Error(`redis ${url}: no answer to ${String(args[0])} within ${timeoutMs} ms`)),
    );
    socket.once('error', (error) => done(new Error(`redis ${url}: ${error.message}`, { cause: error })));
    socket.once('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const parsed = parseReply(received);
        if (parsed === undefined) return;
        if (parsed.reply instanceof RedisReplyError) done(parsed.reply);
        else done(undefined, parsed.reply);
      } catch (error: unknown) {
        done(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** Entries in the given lists together, counted atomically; undefined while Redis does not answer. */
export async function entriesIn(url: string, keys: readonly string[]): Promise<number | undefined> {
  // One script, so an entry moving from one list to the other is never counted twice or missed.
  const script = "local n = 0 for _, k in ipairs(KEYS) do n = n + redis.call('LLEN', k) end return n";
  try {
    const n = await redisCommand(url, ['EVAL', script, keys.length, ...keys]);
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}
