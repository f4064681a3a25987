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
