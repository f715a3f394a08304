// Builds the dashboard (src/web) into a directory (default .build/web): the script and style bundles with
// content-hashed names under assets/ (served immutable) and index.html naming them (served no-cache), so a
// new build is picked up by the next page load and an unchanged asset is never fetched twice. Modules imported
// with import() (xterm.js, for the console) are split into their own chunks, fetched only when used.
// Usage: node scripts/build-web.ts [outdir]
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export async function buildWeb(outDir = join(root, ".build/web")) {
  const tmp = `${outDir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(root, "src/web/main.ts"), join(root, "src/web/style.css")],
    bundle: true,
    format: "esm",
    splitting: true,
    target: ["chrome123", "firefox120", "safari17.5"],
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    entryNames: "[name]-[hash]",
    outdir: join(tmp, "assets"),
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const script = outputs.find((f) => /^main-.*\.js$/.test(f));
  const style = outputs.find((f) => /^style-.*\.css$/.test(f));
  if (!script || !style) throw new Error(`web build: missing outputs in ${outputs.join(", ")}`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>kvmon</title>
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
  await writeFile(join(tmp, "index.html"), html);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(dirname(outDir), { recursive: true });
  await rename(tmp, outDir);
  return { outDir, script, style, bytes: result.metafile.outputs };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildWeb(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`dashboard built into ${relative(process.cwd(), out.outDir) || "."}`);
}
