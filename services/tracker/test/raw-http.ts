import net from 'node:net';

export interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
  /** The answer began to arrive before the request's body was sent (or the body never was). */
  readonly beforeBody: boolean;
}

/**
 * Sends `head` (request line and header lines, without the blank line) on a raw socket, so that
 * repeated header lines reach the server as written, then `body` after `afterMs` (never when
 * undefined, whatever the head's Content-Length says). The first response is the answer;
 * undefined when none came within `timeoutMs`.
 */
export function rawExchange(
  port: number,
  head: readonly string[],
  body?: { readonly text: string; readonly afterMs: number },
  timeoutMs = 5_000,
): Promise<RawAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = Buffer.alloc(0);
    let bodySent = false;
    let beforeBody: boolean | undefined;
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    const bodyTimer =
      body === undefined
        ? undefined
        : setTimeout(() => {
            bodySent = true;
            socket.write(body.text);
          }, body.afterMs);
    const settle = (answer: RawAnswer | undefined): void => {
      clearTimeout(timer);
      clearTimeout(bodyTimer);
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      beforeBody ??= !bodySent;
      data = Buffer.concat([data, chunk]);
      const answer = parseAnswer(data, beforeBody);
      if (answer) settle(answer);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      clearTimeout(bodyTimer);
      reject(error);
    });
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
  });
}

function parseAnswer(data: Buffer, beforeBody: boolean): RawAnswer | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? 0);
  if (data.length < end + 4 + length) return undefined;
  const body = data.subarray(end + 4, end + 4 + length).toString('utf8');
  return { status: Number(statusLine.split(' ')[1]), headers, body, beforeBody };
}
