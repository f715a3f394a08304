/**
 * The audit log (admins): every privileged action, refused ones included, newest first, paged by `next`;
 * filtered by who, action, host and domain (the API's own filters).
 */
import { ApiError } from "../../api/errors.ts";
import type { AuditLogQuery, AuditPage } from "../../api/types.ts";
import { h, fill } from "../dom.ts";
import type { Page } from "../page.ts";

const PAGE = 100;
const ACTIONS = [
  "trace-on",
  "trace-off",
  "exec",
  "agent-command",
  "console",
  "token-create",
  "token-revoke",
  "host-add",
];

function row(r: AuditPage["records"][number]): HTMLElement {
  return h(
    "tr",
    { "data-action": r.action, "data-outcome": r.outcome },
    h("td", {}, new Date(r.time).toLocaleString()),
    h("td", {}, r.who),
    h("td", {}, r.action),
    h("td", {}, [r.host, r.domain].filter(Boolean).join(" / ") || "–"),
    h("td", { class: `outcome-${r.outcome}` }, r.outcome),
    h("td", { class: "num" }, String(r.status)),
    h("td", {}, r.code ?? ""),
    h("td", { class: "what" }, Object.keys(r.what).length ? JSON.stringify(r.what) : ""),
  );
}

export const auditPage: Page = (main, session, onAuthLost) => {
  const body = h("tbody", {});
  const status = h("p", { class: "status", role: "status" });
  const more = h("button", { type: "button", hidden: true }, "Older");
  let next: number | null = null;
  const text = (name: "who" | "host" | "domain") =>
    h("input", { type: "search", name, placeholder: name, "aria-label": `Filter by ${name}` });
  const filters = {
    who: text("who"),
    action: h(
      "select",
      { name: "action", "aria-label": "Filter by action" },
      h("option", { value: "" }, "all actions"),
      ...ACTIONS.map((a) => h("option", { value: a }, a)),
    ),
    host: text("host"),
    domain: text("domain"),
  };
  const asked = (): AuditLogQuery =>
    Object.fromEntries(
      Object.entries(filters).flatMap(([k, el]) => (el.value.trim() ? [[k, el.value.trim()]] : [])),
    );
  fill(
    main,
    h("h1", {}, "Audit log"),
    h(
      "p",
      { class: "muted" },
      "Every privileged action (tracing, guest commands, consoles, tokens, hosts), refused ones included. The host agents keep their own log of the calls they served.",
    ),
    h(
      "form",
      {
        class: "filters audit-filters",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          refilter();
        },
      },
      ...Object.values(filters),
    ),
    status,
    h(
      "div",
      { class: "card table-wrap" },
      h(
        "table",
        { class: "audit" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["time", "who", "action", "host / domain", "outcome", "status", "code", "what"].map((t) =>
              h("th", {}, t),
            ),
          ),
        ),
        body,
      ),
    ),
    more,
  );
  let generation = 0;
  const load = async () => {
    const mine = generation;
    try {
      const page = await session.client.audit({
        ...asked(),
        limit: PAGE,
        ...(next === null ? {} : { before: next }),
      });
      if (mine !== generation) return; // the filters changed while this page was on its way
      status.className = "status";
      body.append(...page.records.map(row));
      next = page.next;
      more.hidden = next === null;
      status.textContent =
        body.children.length > 0
          ? ""
          : Object.keys(asked()).length
            ? "Nothing matches."
            : "Nothing audited yet.";
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return onAuthLost();
      status.textContent =
        e instanceof ApiError && e.status === 403
          ? "The audit log is for admins."
          : `Could not load the audit log: ${(e as Error).message}`;
      status.className = "status error";
    }
  };
  more.addEventListener("click", () => void load());
  const refilter = () => {
    generation++;
    next = null;
    body.replaceChildren();
    void load();
  };
  filters.action.addEventListener("change", refilter);
  for (const el of [filters.who, filters.host, filters.domain]) el.addEventListener("change", refilter);
  void load();
  return () => undefined;
};
