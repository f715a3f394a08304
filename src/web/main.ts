/**
 * The dashboard's entry: the theme (the system's, or the one picked with the toggle), the login, and a hash
 * router: `#/` the fleet, `#/domain/<host>/<name>` one domain. A page is a function that fills the main element
 * and returns its cleanup (timers, charts).
 */
import { ApiError } from "../api/errors.ts";
import { h, fill } from "./dom.ts";
import { auditPage } from "./pages/audit.ts";
import { domainPage } from "./pages/domain.ts";
import { fleetPage } from "./pages/fleet.ts";
import type { Cleanup, Page } from "./page.ts";
import { loginPage } from "./pages/login.ts";
import { tokensPage } from "./pages/tokens.ts";
import { logIn, logOut, type Session, storedToken } from "./session.ts";

const THEME_KEY = "kvmon.theme";

function applyTheme(theme: string | null): void {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme(): void {
  const dark =
    document.documentElement.dataset.theme === "dark" ||
    (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
  const next = dark ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
}

function route(): { page: Page; title: string } {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "audit") return { page: auditPage, title: "Audit log · kvmon" };
  if (parts[0] === "tokens") return { page: tokensPage, title: "Tokens · kvmon" };
  if (parts[0] === "domain" && parts[1] && parts[2])
    return { page: domainPage(parts[1], parts[2]), title: `${parts[2]} · kvmon` };
  return { page: fleetPage, title: "Fleet · kvmon" };
}

function boot(): void {
  applyTheme(localStorage.getItem(THEME_KEY));
  const root = document.getElementById("app")!;
  const main = h("main", { id: "main" });
  let cleanup: Cleanup = () => undefined;
  let session: Session | null = null;

  const header = (s: Session | null) =>
    h(
      "header",
      { class: "top" },
      h("a", { href: "#/", class: "brand" }, "kvmon"),
      s && h("a", { href: "#/" }, "Fleet"),
      s?.user.role === "admin" && h("a", { href: "#/audit", class: "nav-audit" }, "Audit log"),
      s?.user.role === "admin" && h("a", { href: "#/tokens", class: "nav-tokens" }, "Tokens"),
      h("span", { class: "grow" }),
      s && h("span", { class: "who", "data-role": s.user.role }, `${s.user.name} · ${s.user.role}`),
      h("button", { type: "button", class: "ghost", onclick: toggleTheme, title: "Light or dark" }, "◐"),
      s &&
        h(
          "button",
          {
            type: "button",
            class: "ghost",
            onclick: () => {
              logOut();
              showLogin();
            },
          },
          "Log out",
        ),
    );

  const show = () => {
    cleanup();
    if (!session) return showLogin();
    const { page, title } = route();
    document.title = title;
    fill(root, header(session), main);
    main.replaceChildren();
    cleanup = page(main, session, authLost);
  };
  const authLost = () => {
    logOut();
    showLogin("Your token is no longer accepted: log in again.");
  };
  const showLogin = (notice?: string) => {
    cleanup();
    session = null;
    document.title = "Log in · kvmon";
    fill(root, header(null), main);
    main.replaceChildren();
    cleanup = loginPage(
      main,
      async (token) => {
        session = await logIn(token);
        show();
      },
      notice,
    );
  };

  addEventListener("hashchange", () => session && show());
  const token = storedToken();
  if (!token) return showLogin();
  logIn(token).then(
    (s) => {
      session = s;
      show();
    },
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) authLost();
      else showLogin(`Could not check the saved token: ${(e as Error).message}`);
    },
  );
}

boot();
