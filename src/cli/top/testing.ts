/** Test support: the model's golden snapshot (four domains from real collections) as a view snapshot. */
import { readFileSync } from "node:fs";
import { parseSnapshot } from "../../model/schema.ts";
import type { DomainSample } from "../../model/types.ts";
import type { ViewSnapshot } from "../view/types.ts";

export function goldenView(): ViewSnapshot {
  const snap = parseSnapshot(
    JSON.parse(readFileSync(new URL("../../model/testdata/snapshot.golden.json", import.meta.url), "utf8")),
  );
  return {
    source: "agent",
    origin: "http://127.0.0.1:9477",
    collectedAt: snap.finishedAt,
    host: snap.host,
    hosts: null,
    domains: snap.domains,
  };
}

export function goldenDomain(name: string): DomainSample {
  const d = goldenView().domains.find((x) => x.name === name);
  if (!d) throw new Error(`no ${name} in the golden snapshot`);
  return d;
}
