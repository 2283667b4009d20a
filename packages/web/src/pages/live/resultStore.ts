/**
 * Live results kept in the tab in a compact form, so a live query with a million rows does not
 * crash it (issue #7): each row is ONE string (its values joined by a unit separator, in the order
 * the columns were first seen) plus an index into a host-name table, instead of an object per row
 * with a key per column. Rows are split back into cells only for the few rows on screen. The store
 * keeps at most `cap` rows: the server stores at most MIMIR_LIVE_QUERY_MAX_ROWS (default 1,000,000)
 * per live query, so the stream never sends more than that; beyond the cap the operator exports.
 */

/** The server's default row cap per live query (MIMIR_LIVE_QUERY_MAX_ROWS). */
export const CLIENT_ROW_CAP = 1_000_000;

const SEP = '\u001f';

type Cell = string | number | boolean | null;

export class ResultStore {
  readonly columns: string[] = [];
  private readonly columnIndex = new Map<string, number>();
  private rows: string[] = [];
  private hostOf = new Int32Array(1024);
  private readonly hostNames: string[] = [];
  private readonly hostIndex = new Map<string, number>();
  /** Rows dropped because the cap was reached. */
  dropped = 0;

  constructor(readonly cap = CLIENT_ROW_CAP) {}

  get length(): number {
    return this.rows.length;
  }

  private host(name: string): number {
    let i = this.hostIndex.get(name);
    if (i === undefined) {
      i = this.hostNames.length;
      this.hostNames.push(name);
      this.hostIndex.set(name, i);
    }
    return i;
  }

  add(hostname: string, row: Readonly<Record<string, Cell>>): void {
    if (this.rows.length >= this.cap) {
      this.dropped++;
      return;
    }
    const values: string[] = new Array<string>(this.columns.length).fill('');
    for (const [k, v] of Object.entries(row)) {
      let ci = this.columnIndex.get(k);
      if (ci === undefined) {
        ci = this.columns.length;
        this.columns.push(k);
        this.columnIndex.set(k, ci);
      }
      values[ci] = v === null ? '' : String(v).replaceAll(SEP, ' ');
    }
    const n = this.rows.length;
    if (n >= this.hostOf.length) {
      const grown = new Int32Array(this.hostOf.length * 2);
      grown.set(this.hostOf);
      this.hostOf = grown;
    }
    this.hostOf[n] = this.host(hostname);
    // Trailing empty cells are not stored: rows of early hosts stay short when columns grow.
    let end = values.length;
    while (end > 0 && values[end - 1] === '') end--;
    this.rows.push(values.slice(0, end).join(SEP));
  }

  /** Drop rows after `length` (a stream reconnect resends a partly delivered answer). */
  truncate(length: number): void {
    if (length < this.rows.length) this.rows.length = length;
  }

  hostname(i: number): string {
    return this.hostNames[this.hostOf[i] ?? 0] ?? '';
  }

  /** Cells of row i, one per column. */
  cells(i: number): string[] {
    const raw = this.rows[i];
    const out = raw === undefined || raw === '' ? [] : raw.split(SEP);
    while (out.length < this.columns.length) out.push('');
    return out;
  }
}
