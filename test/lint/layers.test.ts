/**
 * The layer check (eslint.config.js) on deliberate imports, through ESLint's own API and the project's config:
 * for every layer of docs/architecture.md, imports it must not make are reported by the rule with the layer's
 * message, and imports it may make are not, written both from a file right in the layer's folder (`../`) and
 * from one a folder deeper (`../../`). Folders that do not exist yet (server, web, api, metrics) are checked
 * the same way: ESLint needs only the path. Lab-free: runs in `npm run test:unit`.
 */
import assert from "node:assert/strict";
import { glob } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ESLint } from "eslint";

const root = join(import.meta.dirname, "../..");
const eslint = new ESLint({ cwd: root });
const RULE = "@typescript-eslint/no-restricted-imports";

interface Case {
  from: string; // the importing file, relative to the repository
  code: string;
  error?: RegExp; // the rule's message when the import is forbidden; none when it is allowed
}

const forbid = (from: string, spec: string, error: RegExp): Case => ({
  from,
  code: `import "${spec}";`,
  error,
});
const allow = (from: string, spec: string): Case => ({ from, code: `import "${spec}";` });

const onlyShared = /src\/shared imports only src\/shared \(/;
const protocolOnly = /src\/protocol imports only src\/protocol, src\/shared \(/;
const xdrOnly = /src\/protocol\/xdr imports only src\/protocol\/xdr, src\/shared \(/;
const modelOnly = /src\/model imports only src\/model, src\/shared \(/;
const metricsOnly = /src\/metrics imports only src\/metrics, src\/model, src\/shared \(/;
const hostChecksOnly = /src\/host-checks imports only src\/host-checks, src\/shared \(/;
const tracerOnly =
  /src\/tracer imports only src\/tracer, src\/protocol\/tracefs, src\/model, src\/metrics, src\/shared \(/;
const webOnly = /src\/web imports only src\/web, src\/api \(/;
const apiOnly = /src\/api imports only src\/api, src\/model, src\/metrics, src\/shared \(/;
const never = (layer: string, target: string) =>
  new RegExp(`\\. src/${layer} must not import src/${target} \\(`);
const notHttp = /src\/collectors must not import HTTP libraries/;
const facade = /import the libvirt client from src\/protocol\/libvirt\/index\.ts/;
const shortest = /write the shortest relative path/;

const CASES: Record<string, Case[]> = {
  "src/shared imports nothing of kvmon": [
    forbid("src/shared/x.ts", "../model/types.ts", onlyShared),
    forbid("src/shared/a/x.ts", "../../protocol/libvirt/index.ts", onlyShared),
    allow("src/shared/x.ts", "./errors.ts"),
    allow("src/shared/a/x.ts", "../errors.ts"),
    allow("src/shared/x.ts", "node:timers/promises"),
    allow("src/shared/x.ts", "zod"),
  ],
  "src/protocol imports only protocol and shared": [
    forbid("src/protocol/libvirt/x.ts", "../../collectors/types.ts", protocolOnly),
    forbid("src/protocol/libvirt/testing/x.ts", "../../../agent/agent.ts", protocolOnly),
    forbid("src/protocol/qga/x.ts", "../../model/types.ts", protocolOnly),
    forbid("src/protocol/x.ts", "../lab/lab.ts", protocolOnly),
    allow("src/protocol/qga/x.ts", "../libvirt/index.ts"),
    allow("src/protocol/qga/x.ts", "../../shared/errors.ts"),
    allow("src/protocol/libvirt/testing/x.ts", "../../xdr/reader.ts"),
  ],
  "src/protocol/xdr imports only itself and shared": [
    forbid("src/protocol/xdr/x.ts", "../libvirt/types.ts", xdrOnly),
    forbid("src/protocol/xdr/a/x.ts", "../../libvirt/types.ts", xdrOnly),
    forbid("src/protocol/xdr/x.ts", "../../model/types.ts", xdrOnly),
    allow("src/protocol/xdr/x.ts", "./reader.ts"),
    allow("src/protocol/xdr/x.ts", "../../shared/errors.ts"),
    allow("src/protocol/xdr/a/x.ts", "../../../shared/errors.ts"),
  ],
  "src/model imports only model and shared": [
    forbid("src/model/x.ts", "../protocol/libvirt/types.ts", modelOnly),
    forbid("src/model/x.ts", "../collectors/types.ts", modelOnly),
    forbid("src/model/a/x.ts", "../../metrics/catalog.ts", modelOnly),
    allow("src/model/x.ts", "./rate.ts"),
    allow("src/model/a/x.ts", "../../shared/errors.ts"),
  ],
  "src/metrics imports only model and shared": [
    forbid("src/metrics/x.ts", "../protocol/libvirt/index.ts", metricsOnly),
    forbid("src/metrics/x.ts", "../collectors/types.ts", metricsOnly),
    forbid("src/metrics/a/x.ts", "../../agent/exposition.ts", metricsOnly),
    allow("src/metrics/x.ts", "../model/types.ts"),
    allow("src/metrics/a/x.ts", "../../shared/errors.ts"),
  ],
  "src/collectors: no agent, cli, server, web, lab or HTTP": [
    forbid("src/collectors/x.ts", "../agent/agent.ts", never("collectors", "agent")),
    forbid("src/collectors/fixtures/x.ts", "../../agent/agent.ts", never("collectors", "agent")),
    forbid("src/collectors/x.ts", "../cli/main.ts", never("collectors", "cli")),
    forbid("src/collectors/x.ts", "../server/app.ts", never("collectors", "server")),
    forbid("src/collectors/x.ts", "../web/app.ts", never("collectors", "web")),
    forbid("src/collectors/fixtures/x.ts", "../../lab/lab.ts", never("collectors", "lab")),
    forbid("src/collectors/x.ts", "hono", notHttp),
    forbid("src/collectors/x.ts", "hono/http-exception", notHttp),
    forbid("src/collectors/x.ts", "@hono/node-server", notHttp),
    forbid("src/collectors/x.ts", "node:http", notHttp),
    forbid("src/collectors/x.ts", "https", notHttp),
    {
      from: "src/collectors/x.ts",
      code: `export { Agent } from "../agent/agent.ts";`,
      error: never("collectors", "agent"),
    },
    allow("src/collectors/x.ts", "../model/types.ts"),
    allow("src/collectors/x.ts", "../metrics/catalog.ts"),
    allow("src/collectors/x.ts", "../protocol/libvirt/types.ts"),
    allow("src/collectors/fixtures/x.ts", "../../model/types.ts"),
    allow("src/collectors/fixtures/x.ts", "../agent/agent.ts"), // src/collectors/agent/, not src/agent
    allow("src/collectors/x.ts", "node:fs"),
  ],
  "src/audit: no agent, cli, server, web, lab or HTTP": [
    forbid("src/audit/x.ts", "../agent/agent.ts", never("audit", "agent")),
    forbid("src/audit/x.ts", "../cli/main.ts", never("audit", "cli")),
    forbid("src/audit/x.ts", "../server/app.ts", never("audit", "server")),
    forbid("src/audit/x.ts", "../web/app.ts", never("audit", "web")),
    forbid("src/audit/fixtures/x.ts", "../../lab/lab.ts", never("audit", "lab")),
    forbid("src/audit/x.ts", "node:http", /src\/audit must not import HTTP libraries/),
    forbid("src/audit/x.ts", "../protocol/libvirt/client.ts", facade),
    allow("src/audit/x.ts", "../protocol/libvirt/index.ts"),
    allow("src/audit/x.ts", "../collectors/domain-xml.ts"),
    allow("src/audit/x.ts", "../tracer/vcpu-threads.ts"),
    allow("src/audit/x.ts", "../shared/errors.ts"),
    allow("src/cli/commands/x.ts", "../../audit/audit.ts"),
  ],
  "src/agent: no cli, server, web, lab": [
    forbid("src/agent/x.ts", "../cli/main.ts", never("agent", "cli")),
    forbid("src/agent/x.ts", "../server/app.ts", never("agent", "server")),
    forbid("src/agent/x.ts", "../web/app.ts", never("agent", "web")),
    forbid("src/agent/x.ts", "../lab/lab.ts", never("agent", "lab")),
    forbid("src/agent/testing/x.ts", "../../lab/lab.ts", never("agent", "lab")),
    allow("src/agent/x.ts", "../collectors/registry.ts"),
    allow("src/agent/testing/x.ts", "../../collectors/types.ts"),
    allow("src/agent/x.ts", "../protocol/libvirt/index.ts"),
    allow("src/agent/x.ts", "hono"),
  ],
  "src/server: no libvirt, qga, tracefs, collectors, lab, agent, cli": [
    forbid("src/server/x.ts", "../protocol/libvirt/index.ts", never("server", "protocol/libvirt")),
    forbid("src/server/store/x.ts", "../../protocol/libvirt/types.ts", never("server", "protocol/libvirt")),
    forbid("src/server/x.ts", "../protocol/qga/index.ts", never("server", "protocol/qga")),
    forbid("src/server/x.ts", "../protocol/tracefs/index.ts", never("server", "protocol/tracefs")),
    forbid("src/server/x.ts", "../collectors/registry.ts", never("server", "collectors")),
    forbid("src/server/x.ts", "../lab/lab.ts", never("server", "lab")),
    forbid("src/server/store/x.ts", "../../agent/agent.ts", never("server", "agent")),
    forbid("src/server/x.ts", "../cli/main.ts", never("server", "cli")),
    allow("src/server/x.ts", "../model/types.ts"),
    allow("src/server/store/x.ts", "../../metrics/catalog.ts"),
    allow("src/server/x.ts", "../protocol/xdr/reader.ts"),
    allow("src/server/x.ts", "hono"),
  ],
  "src/web imports only its API client (src/api)": [
    forbid("src/web/x.ts", "../model/types.ts", webOnly),
    forbid("src/web/x.ts", "../server/app.ts", webOnly),
    forbid("src/web/pages/x.ts", "../../shared/errors.ts", webOnly),
    allow("src/web/x.ts", "../api/client.ts"),
    allow("src/web/pages/x.ts", "../../api/client.ts"),
    allow("src/web/pages/x.ts", "../components/chart.ts"),
  ],
  "src/api imports model, metrics, shared, and the server's types only": [
    forbid("src/api/x.ts", "../server/app.ts", /src\/api imports src\/server only with `import type`/),
    forbid("src/api/x.ts", "../protocol/libvirt/index.ts", apiOnly),
    forbid("src/api/x.ts", "../agent/http.ts", apiOnly),
    {
      from: "src/api/x.ts",
      code: `import type { AppType } from "../server/app.ts";\nexport type { AppType };`,
    },
    allow("src/api/x.ts", "../model/types.ts"),
  ],
  "src/lab: no agent, collectors, cli, server, web": [
    forbid("src/lab/x.ts", "../agent/agent.ts", never("lab", "agent")),
    forbid("src/lab/x.ts", "../collectors/registry.ts", never("lab", "collectors")),
    forbid("src/lab/guest/x.ts", "../../collectors/registry.ts", never("lab", "collectors")),
    forbid("src/lab/x.ts", "../cli/main.ts", never("lab", "cli")),
    forbid("src/lab/x.ts", "../server/app.ts", never("lab", "server")),
    forbid("src/lab/x.ts", "../web/app.ts", never("lab", "web")),
    allow("src/lab/x.ts", "../protocol/qga/index.ts"),
    allow("src/lab/guest/x.ts", "../../shared/errors.ts"),
    allow("src/lab/x.ts", "../model/types.ts"),
  ],
  "src/host-checks reads files only: it imports nothing of kvmon but src/shared": [
    forbid("src/host-checks/x.ts", "../lab/host.ts", hostChecksOnly),
    forbid("src/host-checks/x.ts", "../protocol/libvirt/index.ts", hostChecksOnly),
    allow("src/host-checks/x.ts", "../shared/errors.ts"),
    allow("src/lab/x.ts", "../host-checks/index.ts"),
    allow("src/agent/x.ts", "../host-checks/index.ts"),
  ],
  "src/tracer imports only the tracefs client, model, metrics and shared (no libvirt, no agent, no HTTP)": [
    forbid("src/tracer/x.ts", "../agent/http.ts", tracerOnly),
    forbid("src/tracer/x.ts", "../protocol/libvirt/index.ts", tracerOnly),
    forbid("src/tracer/x.ts", "hono", /src\/tracer must not import HTTP libraries/),
    forbid("src/tracer/x.ts", "node:http", /src\/tracer must not import HTTP libraries/),
    allow("src/tracer/x.ts", "../protocol/tracefs/index.ts"),
    allow("src/tracer/x.ts", "../metrics/catalog.ts"),
    allow("src/agent/x.ts", "../tracer/index.ts"),
  ],
  "src/cli may import every layer below it": [
    allow("src/cli/commands/x.ts", "../../agent/server.ts"),
    allow("src/cli/commands/x.ts", "../../lab/lab.ts"),
    allow("src/cli/x.ts", "../protocol/libvirt/index.ts"),
  ],
  "outside src/protocol, the libvirt client only through index.ts (or types.ts)": [
    forbid("src/agent/x.ts", "../protocol/libvirt/client.ts", facade),
    forbid("src/agent/testing/x.ts", "../../protocol/libvirt/async-queue.ts", facade),
    forbid("src/cli/commands/x.ts", "../../protocol/libvirt/dispatcher.ts", facade),
    forbid("src/future/x.ts", "../protocol/libvirt/client.ts", facade), // a folder no layer lists yet
    forbid("src/agent/x.ts", "../protocol/libvirt/testing/mock-libvirtd.ts", facade), // not a test
    allow("src/agent/x.ts", "../protocol/libvirt/types.ts"),
    allow("src/future/x.ts", "../protocol/libvirt/index.ts"),
    allow("src/agent/x.test.ts", "../protocol/libvirt/testing/mock-libvirtd.ts"),
    allow("src/agent/testing/x.ts", "../../protocol/libvirt/testing/mock-libvirtd.ts"),
  ],
  "outside protocol, the libvirt client's internals are never imported directly": [
    forbid("src/agent/agent.ts", "../protocol/libvirt/errors.ts", facade),
    forbid("src/agent/agent.ts", "../protocol/libvirt/client.ts", facade),
    forbid("src/agent/testing/setup.ts", "../../protocol/libvirt/dispatcher.ts", facade),
  ],
  "no way around the check": [
    forbid("src/agent/x.ts", "../collectors/../lab/lab.ts", shortest),
    forbid("src/collectors/x.ts", "./../agent/agent.ts", shortest),
    forbid("src/collectors/x.ts", ".././agent/agent.ts", shortest),
    forbid("src/collectors/x.ts", "../../src/agent/agent.ts", never("collectors", "agent")),
    forbid("src/protocol/libvirt/x.ts", "../../../src/collectors/types.ts", protocolOnly),
  ],
  "bench/ and test/ may import anything": [
    allow("bench/agent/x.ts", "../../src/protocol/libvirt/client.ts"),
    allow("test/x.ts", "../src/lab/lab.ts"),
    allow("test/integration/x.ts", "../../src/agent/agent.ts"),
  ],
};

/** The rule's messages on `code` as if it were in `from` (and no parse error). */
async function restrictions(from: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: join(root, from) });
  assert.ok(result, "one lint result");
  assert.deepEqual(
    result.messages.filter((m) => m.fatal),
    [],
    "the snippet parses",
  );
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

for (const [layer, cases] of Object.entries(CASES)) {
  describe(layer, () => {
    for (const { from, code, error } of cases) {
      test(`${from}: ${code.split("\n")[0]} is ${error ? "reported" : "allowed"}`, async () => {
        const messages = await restrictions(from, code);
        if (!error) return assert.deepEqual(messages, []);
        assert.equal(messages.length, 1, `one report: ${JSON.stringify(messages)}`);
        assert.match(messages[0]!, error);
      });
    }
  });
}

test("every .ts file of src/ is under the layer check", async () => {
  const unchecked: string[] = [];
  let files = 0;
  for await (const file of glob("src/**/*.ts", { cwd: root })) {
    files++;
    const config = (await eslint.calculateConfigForFile(join(root, file))) as {
      rules?: Record<string, unknown>;
    };
    if (!config.rules?.[RULE]) unchecked.push(file);
  }
  assert.ok(files > 100, `${files} files`);
  assert.deepEqual(unchecked, [], "files the layer check does not reach (too deep below their layer?)");
});
