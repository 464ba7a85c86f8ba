import { HttpError } from './http-error.js';

/**
 * Click tracking may only send people to hosts the operator listed: `example.com` matches that
 * host exactly, `*.example.com` its subdomains. Anything else is refused, so the tracker is no
 * open redirector for phishing links.
 */
export function redirectTarget(to: string | undefined, allowedHosts: readonly string[]): string {
  if (to === undefined || to === '') throw new HttpError(400, 'invalid redirect', 'the "to" parameter is missing');
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw new HttpError(400, 'invalid redirect', `"to" is not an absolute URL: ${JSON.stringify(to.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HttpError(400, 'invalid redirect', `"to" must be an http(s) URL, not ${url.protocol}`);
  }
  const host = url.hostname.toLowerCase();
  const allowed = allowedHosts.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p;
  });
  if (!allowed) {
    throw new HttpError(400, 'invalid redirect', `redirects to ${host} are not allowed (TRACKER_REDIRECT_HOSTS)`);
  }
  return url.href;
}
