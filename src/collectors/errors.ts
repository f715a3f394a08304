/** Errors of the collectors layer: data from libvirt that a collector cannot turn into the model. */
import { KvmonError, type KvmonErrorOptions } from "../shared/errors.ts";

/** A bulk stats record lacks a field the collector cannot do without, or holds one of the wrong kind. */
export class StatsError extends KvmonError {
  override name = "StatsError";
  readonly field: string;
  constructor(field: string, message: string, options?: KvmonErrorOptions) {
    super("STATS_FIELD_INVALID", message, options);
    this.field = field;
  }
}

/** An XML document (a domain's, from virDomainGetXMLDesc) that is malformed or not the expected one. */
export class XmlError extends KvmonError {
  override name = "XmlError";
  constructor(message: string, options?: KvmonErrorOptions) {
    super("XML_INVALID", message, options);
  }
}

/** A collector or source name that is not registered (config validates names before this). */
export class UnknownCollectorError extends KvmonError {
  override name = "UnknownCollectorError";
  constructor(name: string, known: readonly string[]) {
    super("COLLECTOR_UNKNOWN", `unknown collector '${name}' (known: ${known.join(", ")})`);
  }
}
