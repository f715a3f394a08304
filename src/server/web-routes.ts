/**
 * The dashboard's files (built by scripts/build-web.ts into .build/web): `/` is index.html, never cached (it
 * names the current build's assets); `/assets/<name>-<hash>.<ext>` are immutable for a year, since a changed
 * file gets a new name. Public: the page itself holds no data, every API call it makes needs a token. Without a
 * build, `/` says how to make one.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { HttpError } from "./api/errors.ts";
import { route, type RouteSpec } from "./api/route.ts";

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  woff2: "font/woff2",
};
/** A built asset's name: letters, digits, dots, dashes, underscores; one of the types above. */
const ASSET = /^[\w.-]+\.(js|css|map|svg|png|woff2)$/;

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

export function webRoutes(webDir: string): RouteSpec[] {
  return [
    route({
      method: "GET",
      path: "/",
      access: "public",
      summary: "The web dashboard (index.html; not cached)",
      handler: async (c) => {
        const html = await readOrNull(join(webDir, "index.html"));
        if (!html)
          throw new HttpError(503, "WEB_NOT_BUILT", `the dashboard is not built (no ${webDir}/index.html)`, {
            hint: "run scripts/setup.sh (or node scripts/build-web.ts)",
          });
        c.header("cache-control", "no-cache");
        c.header("content-type", "text/html; charset=utf-8");
        c.header("x-content-type-options", "nosniff");
        return c.body(new Uint8Array(html));
      },
    }),
    route({
      method: "GET",
      path: "/assets/:file",
      access: "public",
      summary: "The dashboard's content-hashed assets (immutable)",
      handler: async (c) => {
        const file = c.req.param("file") ?? "";
        const m = ASSET.exec(file);
        const body = m && !file.startsWith(".") ? await readOrNull(join(webDir, "assets", file)) : null;
        if (!body || !m) throw new HttpError(404, "NOT_FOUND", `no asset '${file.slice(0, 64)}'`);
        c.header("cache-control", "public, max-age=31536000, immutable");
        c.header("content-type", TYPES[m[1]!]!);
        c.header("x-content-type-options", "nosniff");
        return c.body(new Uint8Array(body));
      },
    }),
  ];
}
