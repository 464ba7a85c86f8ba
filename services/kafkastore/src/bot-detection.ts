/**
 * Crawlers, by the tokens they announce. ua-parser-js 1.x does not flag crawlers, so this short
 * list covers the common ones; generic words (bot, crawler, spider) are matched only as whole
 * tokens so that device names such as "CUBOT" are not taken for crawlers.
 */
const CRAWLER =
  /[a-z0-9](?:bot|Bot|BOT)\/|\b(?:bot|crawler|spider|slurp)\b|duckduckbot|facebookexternalhit|mediapartners-google|adsbot-google|google-inspectiontool|bingpreview|petalbot|yandex(?:bot|images|metrika)|baiduspider|gptbot|chatgpt-user|claudebot|ccbot|bytespider/i;

/** The crawler's product token (e.g. `Googlebot`) when it announces one in `name/version` form. */
const CRAWLER_NAME = /([A-Za-z][A-Za-z0-9-]*(?:bot|Bot|BOT|spider|Spider))\/([^\s;()]*)/;

/** Undefined for anything that is not a known crawler. */
export function crawlerOf(ua: string): { name: string; version: string } | undefined {
  if (!CRAWLER.test(ua)) return undefined;
  const named = CRAWLER_NAME.exec(ua);
  return { name: named?.[1] ?? '', version: named?.[2] ?? '' };
}

/**
 * HTTP libraries and command-line tools: not crawlers (they index nothing) and not a person's
 * browser either. They get the device type `Tool` and their name as the browser.
 */
const TOOL =
  /^(curl|Wget|python-requests|python-urllib|aiohttp|okhttp|Go-http-client|Java|Apache-HttpClient|axios|node-fetch|undici|PostmanRuntime|insomnia|HTTPie|libwww-perl|Dart)\/([^\s;()]*)/i;

export function toolOf(ua: string): { name: string; version: string } | undefined {
  const match = TOOL.exec(ua);
  return match ? { name: match[1] ?? '', version: match[2] ?? '' } : undefined;
}
