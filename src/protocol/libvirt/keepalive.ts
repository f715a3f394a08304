/**
 * libvirt's keepalive program, client side: answer the server's PINGs (done by the dispatcher) and send our
 * own PING after every idle interval. If `count` intervals pass in a row with no inbound packet at all, the
 * peer is declared dead: libvirt's own rule (interval 5 s, count 5 → dead after ~30 s of silence).
 */
import { ConnectionClosedError } from "./errors.ts";

export interface KeepaliveOptions {
  /** Seconds-scale interval between checks, in ms. Default 5000. */
  intervalMs?: number;
  /** Unanswered PINGs tolerated before giving up. Default 5. */
  count?: number;
}

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private sawInbound = false;
  private missed = 0;
  readonly intervalMs: number;
  readonly count: number;
  private readonly ping: () => void;
  private readonly dead: (e: Error) => void;

  constructor(opts: KeepaliveOptions, ping: () => void, dead: (e: Error) => void) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.count = opts.count ?? 5;
    this.ping = ping;
    this.dead = dead;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // The socket keeps the process alive while open; the keepalive timer alone must not.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Any inbound packet proves the peer alive. */
  touch(): void {
    this.sawInbound = true;
  }

  private tick(): void {
    if (this.sawInbound) {
      this.sawInbound = false;
      this.missed = 0;
      return;
    }
    if (this.missed >= this.count) {
      this.stop();
      const silentMs = this.intervalMs * (this.count + 1);
      this.dead(
        new ConnectionClosedError(`keepalive: no reply from libvirt for ${silentMs} ms, peer presumed dead`),
      );
      return;
    }
    this.missed++;
    this.ping();
  }
}
