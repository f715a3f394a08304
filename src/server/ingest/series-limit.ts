/**
 * The per-host series limit: how many distinct series one host may have written since the server started. A
 * flood of new series (a label with a request id in it, a hostile agent) is refused past the bound while the
 * host's known series keep flowing. Kept in memory: after a restart every host starts from zero again.
 */

export class SeriesLimit {
  private readonly known = new Map<string, Set<string>>();
  private readonly max: number;

  constructor(maxSeriesPerHost: number) {
    this.max = maxSeriesPerHost;
  }

  /**
   * Splits `keys` (one per series of a request) into those the host may write (known, or new within the
   * bound, which become known) and the indexes of the new ones over the bound.
   */
  admit(host: string, keys: readonly string[]): { refused: number[] } {
    let set = this.known.get(host);
    if (!set) {
      set = new Set();
      this.known.set(host, set);
    }
    const refused: number[] = [];
    keys.forEach((k, i) => {
      if (set.has(k)) return;
      if (set.size >= this.max) refused.push(i);
      else set.add(k);
    });
    return { refused };
  }

  /** Series the host has written since the server started. */
  count(host: string): number {
    return this.known.get(host)?.size ?? 0;
  }
}
