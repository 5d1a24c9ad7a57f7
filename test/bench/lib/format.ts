/** Rounding and units for report tables. */

/** Rows per second, rounded, from a count and milliseconds. */
export function perSecond(rows: number, ms: number): number {
  return Math.round(rows / (ms / 1000));
}

/** Milliseconds as seconds with one decimal. */
export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** A share (0–1) as "12.3 %". */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
