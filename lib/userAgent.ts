/**
 * A small user-agent parser for the account page's sign-in list ("Chrome on macOS"): the
 * browser family and the operating system, from the User-Agent header alone (no lookups,
 * no version numbers). Unknown agents give null parts; `device` is then "Unknown browser".
 */

export interface ParsedAgent {
  browser: string | null;
  os: string | null;
  /** "Chrome on macOS", "Firefox", "Unknown browser on Linux", "Unknown browser". */
  device: string;
}

// Order matters: Edge, Opera, Samsung and others also say "Chrome" and "Safari"; Chrome says "Safari".
const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bHeadlessChrome\//, 'Headless Chrome'],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
];

const SYSTEMS: readonly [RegExp, string][] = [
  [/\bWindows Phone\b/, 'Windows Phone'],
  [/\bWindows\b/, 'Windows'],
  [/\b(iPhone|iPod)\b/, 'iOS'],
  [/\biPad\b/, 'iPadOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

const first = (ua: string, table: readonly [RegExp, string][]) => table.find(([re]) => re.test(ua))?.[1] ?? null;

/** Parses a User-Agent header (null or empty: nothing known). */
export function parseUserAgent(ua: string | null | undefined): ParsedAgent {
  const s = (ua ?? '').slice(0, 500);
  const browser = s ? first(s, BROWSERS) : null;
  const os = s ? first(s, SYSTEMS) : null;
  const device = browser ? (os ? `${browser} on ${os}` : browser) : os ? `Unknown browser on ${os}` : 'Unknown browser';
  return { browser, os, device };
}

/**
 * True when `zone` is an IANA time zone this runtime knows (e.g. Europe/Berlin, UTC).
 * Used to validate what a browser reports before it is stored.
 */
export function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(zone) || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The place a zone is named for ("America/New_York" → "New York"), or null for UTC-like zones. */
export function timeZonePlace(zone: string | null): string | null {
  if (!zone || !zone.includes('/')) return null;
  return (zone.split('/').at(-1) ?? '').replaceAll('_', ' ') || null;
}
