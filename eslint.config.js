// Lint rules: eslint's and typescript-eslint's recommended sets, the few checks this codebase relies on, and the
// layer check (which folder of src/ may import which: docs/architecture.md; proved by test/lint/layers.test.ts).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** npm packages and node builtins that serve or speak HTTP: only the agent (and later the server) may. */
const HTTP_PACKAGES = "^(?:(?:node:)?https?2?|hono|@hono/.*)(?:/|$)";

/**
 * The layers. A layer may import itself and, below it, either `only` the folders listed or everything but the
 * folders listed in `never`; `typesOnly` folders only by `import type`; `packages` names npm packages and node
 * builtins it must not import. A nested folder (protocol/xdr) is listed after its parent and replaces its rule.
 * The root entry ("") covers every file of src/ in no listed folder. bench/ and test/ may import anything.
 * `api` is the fleet API's client and wire types: all that the web UI may use of kvmon.
 */
const LAYERS = [
  { folder: "", never: [] },
  { folder: "shared", only: [] },
  { folder: "protocol", only: ["shared"] },
  { folder: "protocol/xdr", only: ["shared"] },
  { folder: "model", only: ["shared"] },
  { folder: "metrics", only: ["model", "shared"] },
  { folder: "host-checks", only: ["shared"] },
  {
    folder: "tracer",
    only: ["protocol/tracefs", "model", "metrics", "shared"],
    packages: { regex: HTTP_PACKAGES, what: "HTTP libraries (serving is the agent's job)" },
  },
  { folder: "api", only: ["model", "metrics", "shared"], typesOnly: ["server"] },
  { folder: "web", only: ["api"] },
  {
    folder: "collectors",
    never: ["agent", "cli", "server", "web", "lab"],
    packages: { regex: HTTP_PACKAGES, what: "HTTP libraries (serving is the agent's job)" },
  },
  {
    folder: "audit",
    never: ["agent", "cli", "server", "web", "lab"],
    packages: { regex: HTTP_PACKAGES, what: "HTTP libraries (the audit reads libvirt and /proc)" },
  },
  { folder: "agent", never: ["cli", "server", "web", "lab"] },
  { folder: "lab", never: ["agent", "collectors", "cli", "server", "web"] },
  {
    folder: "server",
    never: ["protocol/libvirt", "protocol/qga", "protocol/tracefs", "collectors", "lab", "agent", "cli"],
  },
  { folder: "cli", never: [] },
];

/**
 * Outside src/protocol, the libvirt client is imported through its public index.ts. Also allowed: types.ts, the
 * plain wire types and enums that collectors use without loading the client (index.ts re-exports it), and in
 * tests (`*.test.ts`, `testing/`) the mock daemon under testing/.
 */
const LIBVIRT_PUBLIC = ["index.ts", "types.ts"];

/** Folders a file may sit below its layer's folder; a deeper one escapes the check (test/lint fails then). */
const MAX_DEPTH = 5;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Regex source of `n` steps up (`./` for none). */
const up = (n) => (n === 0 ? "\\./" : `(?:\\.\\./){${n}}`);

/**
 * Regex source of every relative path, written in a file `depth` folders below src/<from>, that lands in
 * src/<to> by the shortest way: `../agent` from src/collectors/x.ts, `../../agent` from
 * src/collectors/fixtures/x.ts, `../xdr` or `../../shared` from src/protocol/libvirt/x.ts (and the roundabout
 * `../../src/agent`).
 */
function into(from, depth, to) {
  const segments = from ? from.split("/") : [];
  const forms = [`${up(depth + segments.length + 1)}src/${escape(to)}`];
  for (let level = 0; level <= segments.length; level++) {
    const landing = segments.slice(0, segments.length - level).join("/");
    if (landing === "") forms.push(up(depth + level) + escape(to));
    else if (to.startsWith(`${landing}/`)) {
      forms.push(up(depth + level) + escape(to.slice(landing.length + 1)));
    }
  }
  return `(?:${forms.join("|")})`;
}

const FOLDER_END = "(?:/|$)";
const layerName = (folder) => `src/${folder}`;
const list = (folders) => folders.map(layerName).join(", ");

/** The `@typescript-eslint/no-restricted-imports` patterns for a file `depth` folders below a layer's folder. */
function patterns(layer, depth, { test = false } = {}) {
  const { folder } = layer;
  const out = [
    {
      // `./..`, a `.` after the start, or a `..` after a folder name
      regex: "^\\./\\.\\.(?:/|$)|/\\.(?:/|$)|^(?:\\.{1,2}/)*[^./][^/]*/(?:.*/)?\\.{1,2}(?:/|$)",
      message:
        "write the shortest relative path (no ./ or ../ after a folder name): the layer check reads it",
    },
  ];
  if (layer.only) {
    const allowed = [folder, ...layer.only, ...(layer.typesOnly ?? [])].map((to) => into(folder, depth, to));
    out.push({
      regex: `^(?!(?:${allowed.join("|")})${FOLDER_END})${up(depth + 1)}`,
      message: `${layerName(folder)} imports only ${list([folder, ...layer.only])} (docs/architecture.md)`,
    });
  }
  for (const to of layer.never ?? []) {
    out.push({
      regex: `^${into(folder, depth, to)}${FOLDER_END}`,
      message: `${layerName(folder)} must not import ${layerName(to)} (docs/architecture.md)`,
    });
  }
  for (const to of layer.typesOnly ?? []) {
    out.push({
      regex: `^${into(folder, depth, to)}${FOLDER_END}`,
      allowTypeImports: true,
      message: `${layerName(folder)} imports ${layerName(to)} only with \`import type\` (docs/architecture.md)`,
    });
  }
  if (layer.packages) {
    out.push({
      regex: layer.packages.regex,
      message: `${layerName(folder)} must not import ${layer.packages.what}`,
    });
  }
  if (reachesLibvirt(layer)) {
    const publicFiles = LIBVIRT_PUBLIC.map((f) => `${escape(f)}$`);
    if (test) publicFiles.push("testing/");
    out.push({
      regex: `^${into(folder, depth, "protocol/libvirt")}/(?!${publicFiles.join("|")})`,
      message:
        "import the libvirt client from src/protocol/libvirt/index.ts (or its types.ts), not its internals",
    });
  }
  return out.map((p) => ({ caseSensitive: true, ...p }));
}

/** Whether a layer may import src/protocol/libvirt at all (from outside src/protocol). */
function reachesLibvirt({ folder, only, never }) {
  return !only && !folder.startsWith("protocol") && !never.includes("protocol/libvirt");
}

const rule = (patternList) => ({
  "@typescript-eslint/no-restricted-imports": ["error", { patterns: patternList }],
});

/** Config blocks: one per layer and depth (and for tests, where they differ), general before specific. */
function layerBlocks() {
  const blocks = [];
  for (const layer of LAYERS) {
    const below = (depth, name) =>
      `src/${layer.folder ? `${layer.folder}/` : ""}${"*/".repeat(depth)}${name}`;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      blocks.push({ files: [below(depth, "*.ts")], rules: rule(patterns(layer, depth)) });
      if (reachesLibvirt(layer)) {
        blocks.push({
          files: [below(depth, "*.test.ts"), [below(depth, "*.ts"), "**/testing/**"]],
          rules: rule(patterns(layer, depth, { test: true })),
        });
      }
    }
  }
  return blocks;
}

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", ".build/", "**/testdata/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-control-regex": "off",
      "prefer-const": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  ...layerBlocks(),
);
