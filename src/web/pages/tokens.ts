/**
 * The tokens (admins): every API and host token with its role, when made and last used; make one (its secret is
 * shown once here, with a copy button and a warning) and revoke one after a confirmation. The server keeps the
 * rules (names, one live token per name, never the last admin token) and audits every change.
 */
import { ApiError } from "../../api/errors.ts";
import type { CreatedToken, TokenInfo } from "../../api/types.ts";
import { h, fill } from "../dom.ts";
import { ago } from "../format.ts";
import type { Page } from "../page.ts";

const ROLES = ["viewer", "operator", "admin"] as const;

function secretCard(made: CreatedToken, dismiss: () => void): HTMLElement {
  const copy = h("button", { type: "button", class: "copy" }, "Copy");
  copy.addEventListener("click", () => {
    navigator.clipboard.writeText(made.token).then(
      () => (copy.textContent = "Copied"),
      () => (copy.textContent = "Copy failed: select the token and copy it"),
    );
  });
  const what =
    made.info.kind === "host"
      ? `the agent token of host ${made.info.name}`
      : `${made.info.name}'s ${made.info.role ?? ""} token`;
  return h(
    "div",
    { class: "card secret", role: "status" },
    h(
      "p",
      { class: "notice" },
      h("strong", {}, "Copy it now: "),
      `${what} is shown this once. `,
      "The server keeps only its hash and cannot show it again; if it is lost, revoke it and make another.",
    ),
    h(
      "div",
      { class: "controls" },
      h("code", { class: "token-secret" }, made.token),
      copy,
      h("button", { type: "button", class: "ghost", onclick: dismiss }, "Done"),
    ),
  );
}

export const tokensPage: Page = (main, session, onAuthLost) => {
  if (session.user.role !== "admin") {
    // The link shows for admins only; the server refuses the calls to anyone else anyway.
    fill(main, h("h1", {}, "Tokens"), h("p", { class: "status error" }, "Tokens are for admins."));
    return () => undefined;
  }
  let tokens: TokenInfo[] = [];
  const status = h("p", { class: "status", role: "status" });
  const secret = h("div", {});
  const body = h("tbody", {});
  const showRevoked = h("input", { type: "checkbox", name: "revoked" });
  const kind = h(
    "select",
    { name: "kind", "aria-label": "Kind" },
    h("option", { value: "user" }, "user or engine"),
    h("option", { value: "host" }, "host (agent)"),
  );
  const name = h("input", {
    name: "name",
    required: true,
    placeholder: "name",
    "aria-label": "Name",
    pattern: "[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,127}",
    autocomplete: "off",
  });
  const role = h(
    "select",
    { name: "role", "aria-label": "Role" },
    ...ROLES.map((r) => h("option", { value: r }, r)),
  );
  const create = h("button", { type: "submit" }, "Make token");
  const form = h("form", { class: "card controls token-create" }, kind, name, role, create);

  const failed = (e: unknown, what: string) => {
    if (e instanceof ApiError && e.status === 401) return onAuthLost();
    status.className = "status error";
    status.textContent =
      e instanceof ApiError && e.status === 403
        ? "Tokens are for admins."
        : `${what}: ${(e as Error).message}`;
  };

  const row = (t: TokenInfo): HTMLElement => {
    const action = h("td", {});
    const confirm = () =>
      fill(
        action,
        `Revoke ${t.name}? `,
        h("button", { type: "button", class: "danger", onclick: () => void revoke(t) }, "Revoke"),
        " ",
        h(
          "button",
          { type: "button", class: "ghost", onclick: () => fill(action, revokeButton()) },
          "Cancel",
        ),
      );
    const revokeButton = () => h("button", { type: "button", class: "revoke", onclick: confirm }, "Revoke…");
    if (t.revokedAt === null) fill(action, revokeButton());
    return h(
      "tr",
      { "data-token": t.name, "data-kind": t.kind, class: t.revokedAt === null ? "" : "revoked" },
      h("td", {}, h("code", {}, t.id)),
      h("td", {}, t.name),
      h("td", {}, t.kind === "host" ? "host" : (t.role ?? "–")),
      h("td", { title: new Date(t.createdAt).toLocaleString() }, ago(t.createdAt)),
      h("td", {}, t.lastUsedAt === null ? "never" : ago(t.lastUsedAt)),
      h("td", {}, t.revokedAt === null ? "live" : `revoked ${ago(t.revokedAt)}`),
      action,
    );
  };

  const render = () => {
    const shown = tokens.filter((t) => showRevoked.checked || t.revokedAt === null);
    fill(body, ...shown.map(row));
  };

  const load = async () => {
    try {
      tokens = (await session.client.tokens()).tokens;
      render();
    } catch (e) {
      failed(e, "Could not load the tokens");
    }
  };

  const revoke = async (t: TokenInfo) => {
    status.className = "status";
    status.textContent = "";
    try {
      await session.client.revokeToken(t.id);
      status.textContent = `Revoked ${t.name}'s token ${t.id}.`;
    } catch (e) {
      failed(e, `Could not revoke ${t.name}`);
    }
    await load();
  };

  kind.addEventListener("change", () => {
    role.hidden = kind.value === "host";
    name.placeholder = kind.value === "host" ? "host name" : "name";
  });
  showRevoked.addEventListener("change", render);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    create.disabled = true;
    status.className = "status";
    status.textContent = "";
    const asked =
      kind.value === "host"
        ? { host: name.value.trim() }
        : { name: name.value.trim(), role: role.value as (typeof ROLES)[number] };
    session.client
      .createToken(asked)
      .then(
        async (made) => {
          form.reset();
          role.hidden = false;
          fill(
            secret,
            secretCard(made, () => secret.replaceChildren()),
          );
          await load();
        },
        (e: unknown) => failed(e, "Could not make the token"),
      )
      .finally(() => (create.disabled = false));
  });

  fill(
    main,
    h("h1", {}, "Tokens"),
    h(
      "p",
      { class: "muted" },
      "API tokens carry a role (viewer reads; operator also traces and runs guest commands; admin also reads the audit log and manages tokens). A host token lets that host's agent push its data. Every change is audited.",
    ),
    form,
    secret,
    status,
    h(
      "div",
      { class: "card table-wrap" },
      h("label", { class: "muted" }, showRevoked, " show revoked tokens"),
      h(
        "table",
        { class: "audit tokens" },
        h(
          "thead",
          {},
          h("tr", {}, ...["id", "name", "role", "made", "last used", "state", ""].map((t) => h("th", {}, t))),
        ),
        body,
      ),
    ),
  );
  void load();
  return () => undefined;
};
