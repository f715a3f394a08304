/** Log in with an API token (`kvmon server token create --role viewer --name you`). */
import { ApiError } from "../../api/errors.ts";
import { h } from "../dom.ts";
import type { Cleanup } from "../page.ts";

export function loginPage(
  main: HTMLElement,
  submit: (token: string) => Promise<void>,
  notice?: string,
): Cleanup {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
    placeholder: "kvmon_…",
    required: true,
  });
  const error = h("p", { class: "error", role: "alert" }, notice ?? "");
  const button = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "login card" },
    h("h1", {}, "Log in to kvmon"),
    h("label", { for: "token" }, "API token"),
    input,
    button,
    error,
    h(
      "p",
      { class: "muted" },
      "An admin makes one with ",
      h("code", {}, "kvmon server token create --role viewer --name you"),
      ". It is kept in this tab only (sessionStorage). Your role decides what you can do here.",
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = "";
    submit(input.value.trim()).catch((e: unknown) => {
      button.disabled = false;
      error.textContent =
        e instanceof ApiError && e.status === 401
          ? "This token is unknown or revoked."
          : e instanceof ApiError && e.status === 403
            ? "This is an agent's host token: log in with a user token."
            : `Cannot log in: ${(e as Error).message}`;
    });
  });
  main.append(form);
  input.focus();
  return () => undefined;
}
