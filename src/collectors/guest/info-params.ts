/**
 * Typed access to DOMAIN_GET_GUEST_INFO's flat params ("fs.count", "fs.0.mountpoint", ...), checking each
 * value's type: a param of the wrong type is a GuestDataError (libvirt copies what the guest said).
 */
import type { TypedParamValue } from "../../protocol/libvirt/index.ts";
import { boundText, GuestDataError, guestCount } from "./limits.ts";

export class InfoParams {
  private readonly map: Map<string, TypedParamValue>;
  constructor(map: Map<string, TypedParamValue>) {
    this.map = map;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** A string param, bounded; null when absent. */
  text(key: string): string | null {
    const v = this.map.get(key);
    if (v === undefined) return null;
    if (typeof v !== "string") throw new GuestDataError(`guest info ${key}: expected a string`);
    return boundText(v);
  }

  /** A non-negative integer param; null when absent. */
  count(key: string): number | null {
    const v = this.map.get(key);
    if (v === undefined) return null;
    if (typeof v !== "number" && typeof v !== "bigint")
      throw new GuestDataError(`guest info ${key}: expected a number`);
    return guestCount(v, `guest info ${key}`);
  }

  /** A signed integer param (timezone offset); null when absent. */
  int(key: string): number | null {
    const v = this.map.get(key);
    if (v === undefined) return null;
    if (typeof v !== "number" && typeof v !== "bigint")
      throw new GuestDataError(`guest info ${key}: expected a number`);
    return Number(v);
  }
}
