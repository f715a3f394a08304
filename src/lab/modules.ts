/**
 * Kernel module dependencies without modprobe or depmod: each `.ko` carries a `.modinfo` section of
 * NUL-separated `key=value` strings, `depends=a,b` among them. The guest has no udev and no modprobe
 * configuration, so the lab computes the load order here and the init script insmods in that order.
 */

/** Reads `depends=` from a module file's bytes: the names of modules it needs, [] when none. */
export function moduleDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength).toString("latin1");
  // The key starts right after a NUL (or at the section start); a match inside code or data would not
  // normally be preceded by NUL and followed by a module-name list ending in NUL.
  const match = /(?:^|\0)depends=([A-Za-z0-9_,-]*)\0/.exec(text);
  if (!match) return [];
  return match[1]!
    .split(",")
    .filter((n) => n.length > 0)
    .map(normalizeModuleName);
}

/** Module names use `-` and `_` interchangeably; file names and `depends=` may differ. */
export function normalizeModuleName(name: string): string {
  return name.replace(/\.ko$/, "").replace(/-/g, "_");
}

/**
 * Orders the closure of `wanted` so every module comes after the modules it depends on (depth-first
 * post-order, stable in the order `wanted` lists them). `depsOf` gives a module's dependencies; a module it
 * does not know (undefined) is an error (it is not in the kernel package or was not scanned), as is a cycle.
 */
export function loadOrder(
  wanted: readonly string[],
  depsOf: (name: string) => readonly string[] | undefined,
): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") throw new Error(`module dependency cycle: ${[...path, name].join(" -> ")}`);
    const needs = depsOf(name);
    if (needs === undefined) {
      throw new Error(`module ${name} not found${path.length ? ` (needed by ${path.at(-1)})` : ""}`);
    }
    state.set(name, "visiting");
    for (const dep of needs) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const name of wanted) visit(normalizeModuleName(name), []);
  return order;
}
