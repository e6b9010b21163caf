/** "2 min 5 s", "1 h 3 min", "800 ms": the time between two instants, short. */
export function duration(fromIso: string | null, toIso: string | null, now = Date.now()): string {
  if (!fromIso) return '–';
  const ms = (toIso ? Date.parse(toIso) : now) - Date.parse(fromIso);
  if (!(ms >= 0)) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export function dateTime(iso: string | null): string {
  return iso ? timeFormat.format(new Date(iso)) : '–';
}

/** The status as a word people read (colour comes from the class of the same name). */
export function statusLabel(status: string): string {
  return status.replace('_', ' ').toLowerCase();
}
