/** Small formatting helpers shared by the pages. */

/** A date and time in the visitor's locale. */
export function when(date: string | number | Date): string {
  return new Date(date).toLocaleString();
}

/** Seconds as m:ss (or h:mm:ss from an hour on). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** Bytes as KiB / MiB. */
export function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A date only, in the visitor's locale. */
export function day(date: string | number | Date): string {
  return new Date(date).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** How long ago (or from now), in words: "just now", "5 min ago", "in 3 days". */
export function ago(date: string | number | Date, now: number = Date.now()): string {
  const diff = (now - new Date(date).getTime()) / 1000;
  const abs = Math.abs(diff);
  const unit =
    abs < 45
      ? null
      : abs < 3600
        ? `${Math.round(abs / 60)} min`
        : abs < 23 * 3600
          ? plural(Math.round(abs / 3600), 'hour')
          : plural(Math.round(abs / 86400), 'day');
  if (!unit) return 'just now';
  return diff >= 0 ? `${unit} ago` : `in ${unit}`;
}

/** `n` and the noun, in the plural unless n is 1: "1 hour", "3 hours". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Bytes in the largest sensible unit (B, KB, MB, GB, TB; powers of 1000). */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i] ?? 'B'}`;
}

/** A number with at most one decimal, in the visitor's locale. */
export function num(n: number): string {
  return n.toLocaleString(undefined, { maximumFractionDigits: 1 });
}

/** A browser's user-agent string in words: "Chrome on macOS" ("Unknown browser" when unreadable). */
export function describeAgent(ua: string | null | undefined): string {
  if (!ua) return 'Unknown browser';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /HeadlessChrome\//.test(ua)
          ? 'Headless Chrome'
          : /Chrom(e|ium)\//.test(ua)
            ? 'Chrome'
            : /Safari\//.test(ua)
              ? 'Safari'
              : /curl\//i.test(ua)
                ? 'curl'
                : null;
  const os = /iPhone|iPad|iPod/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Mac OS X|Macintosh/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  if (!browser && !os) return 'Unknown browser';
  return `${browser ?? 'A browser'}${os ? ` on ${os}` : ''}`;
}

/** A time zone in words: "Europe/Berlin" → "Berlin time zone". */
export function zoneName(tz: string | null | undefined): string | null {
  if (!tz) return null;
  const city = tz.split('/').pop()?.replace(/_/g, ' ');
  return city ? `${city} time zone` : null;
}
