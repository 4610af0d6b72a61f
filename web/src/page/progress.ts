/** "12.3 MB of 100 MB, 45.6 MB/s, 2 s left": bytes, speed, ETA. */
export function formatProgress(done: number, total: number, elapsedMs: number): string {
  const speed = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = speed > 0 ? Math.ceil((total - done) / speed) : null;
  const left = eta === null ? "" : `, ${eta} s left`;
  return `${bytes(done)} of ${bytes(total)}, ${bytes(speed)}/s${left}`;
}

function bytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
