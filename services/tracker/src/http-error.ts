/**
 * A request the tracker refuses. Every refusal is answered as one line of JSON,
 * `{"error": "<what>", "detail": "<why, naming the offending part>"}`, and stores nothing.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${status} ${error}: ${detail}`);
    this.name = 'HttpError';
  }

  body(): string {
    return JSON.stringify({ error: this.error, detail: this.detail });
  }
}

export const statusText: Readonly<Record<number, string>> = {
  200: '200 OK',
  204: '204 No Content',
  302: '302 Found',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  414: '414 URI Too Long',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};
