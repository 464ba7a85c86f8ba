/**
 * What real traffic looks like, roughly: mobile apps firing app_open and screen views, some
 * clicks and purchases, from phones and browsers, from public addresses all over the world.
 * (The addresses only travel as X-Forwarded-For values; nothing is ever sent to them.)
 */
export const eventMix: readonly [string, number][] = [
  ['app_open', 50],
  ['screen_view', 25],
  ['click', 12],
  ['push_open', 8],
  ['purchase', 5],
];

export const userAgents: readonly string[] = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'MyApp/4.2.1 (iPhone; iOS 17.0; Scale/3.00)',
  'Dalvik/2.1.0 (Linux; U; Android 12; M2101K6G Build/SKQ1.210908.001)',
];

export const publicAddresses: readonly string[] = [
  '81.169.145.94',
  '8.8.8.8',
  '1.1.1.1',
  '151.101.1.69',
  '104.16.132.229',
  '185.199.108.153',
  '31.13.72.36',
  '46.4.0.1',
  '62.210.16.6',
  '91.198.174.192',
  '103.21.244.0',
  '177.71.207.0',
  '196.25.1.1',
  '203.0.178.191',
  '2a00:1450:4001:82b::200e',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a03:2880:f003:c07:face:b00c::2',
];

/** A deterministic pseudo-random source, so two runs with one seed send the same traffic. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

export function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

export function pickWeighted(mix: readonly [string, number][], random: () => number): string {
  const total = mix.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [name, weight] of mix) {
    r -= weight;
    if (r < 0) return name;
  }
  return mix[mix.length - 1]?.[0] ?? 'app_open';
}

export interface Pixel {
  readonly path: string;
  readonly userAgent: string;
  readonly forwardedFor: string;
  /** Client-side request id (param `rid`), to audit what was acknowledged against Kafka. */
  readonly rid: string;
}

export function makePixel(
  seq: number,
  random: () => number,
  options: { event?: string | undefined; runId: string },
): Pixel {
  const event = options.event ?? pickWeighted(eventMix, random);
  const device = Math.floor(random() * 50_000)
    .toString(36)
    .padStart(4, '0');
  const rid = `${options.runId}-${seq}`;
  const params = new URLSearchParams({ deviceid: `d-${device}`, ts: String(Date.now()), rid });
  if (event === 'screen_view') params.set('screen', pick(['home', 'search', 'cart', 'profile'], random));
  if (event === 'purchase') params.set('amount', (random() * 100).toFixed(2));
  return {
    path: `/t/${event}?${params.toString()}`,
    userAgent: pick(userAgents, random),
    forwardedFor: pick(publicAddresses, random),
    rid,
  };
}
