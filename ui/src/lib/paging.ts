/** The rows shown so far and the next keyset page (older rows), without
 * repeating a row that both hold (one may have moved between the reads). */
export function appendPage<T extends { id: number }>(rows: T[], page: T[]): T[] {
  const seen = new Set(rows.map((r) => r.id));
  return [...rows, ...page.filter((r) => !seen.has(r.id))];
}
