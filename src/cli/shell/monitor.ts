/**
 * The monitor prompt of `kvmon shell` (KMON's design): `list`, `enter <vm>` (every following line runs in that
 * VM through its guest agent until `leave`), `monitor-all` (every VM's blocks every few seconds until a key is
 * pressed), and every registered kvmon command by name. node:readline gives history and tab completion; it is
 * closed while a command or monitor-all owns the terminal and opened again after, with the same history.
 */
import { createInterface, type Interface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { CliIo } from "../command.ts";
import { vmView } from "../top/columns.ts";
import { drawBlocks } from "../top/blocks.ts";
import { drawTable, sortRows, viewRows } from "../top/table.ts";
import { findNamedVm } from "../near-matches.ts";
import type { ViewSource } from "../view/types.ts";
import type { GuestRunner } from "./guest-runner.ts";
import { complete, splitWords } from "./words.ts";

export interface MonitorDeps {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  io: CliIo;
  /** The fleet view, opened on first use. */
  view: () => Promise<ViewSource>;
  /** The guest command runner, opened on the first `enter` (privileged: token or root). */
  runner: () => Promise<GuestRunner>;
  /** Runs a registered kvmon command (argv[0] is its name) and returns its exit code, errors printed. */
  runCommand: (argv: string[]) => Promise<number>;
  /** Names of the registered commands that can run inside the shell. */
  commandNames: readonly string[];
  /** formatError: how a failed built-in is shown (the CLI's `kvmon: [CODE] message` + hint). */
  showError: (e: unknown) => void;
  monitorIntervalMs: number;
}

export const BUILTINS = ["help", "list", "enter", "leave", "monitor-all", "exit", "quit"] as const;

const HELP = (commands: readonly string[]) => `Commands:
  list                 every VM with its state, CPU and memory
  enter <vm>           run every following line in <vm> (sh -c, through its guest agent); 'leave' returns
  leave                back to the monitor prompt (also Ctrl-D inside a VM)
  monitor-all          every VM's network, memory and CPU, every few seconds, until a key is pressed
  ${commands.join(", ")}
                       the kvmon commands, with their options ('top --help')
  help                 this list
  exit, quit           leave the shell (also Ctrl-D)
Tab completes commands and, after 'enter', VM names. Up and down arrows walk the history.
`;

export class MonitorShell {
  private readonly d: MonitorDeps;
  private readonly history: string[] = [];
  private vm: string | null = null;
  private vmNames: string[] = [];
  private rl: Interface | null = null;

  constructor(deps: MonitorDeps) {
    this.d = deps;
  }

  prompt(): string {
    return this.vm ? `kvmon(${this.vm})> ` : "kvmon> ";
  }

  async run(): Promise<number> {
    this.d.io.out(`kvmon shell: 'help' lists the commands, Tab completes, Ctrl-D leaves.\n`);
    // VM names for completion, read in the background.
    void this.refreshNames().catch(() => undefined);
    for (;;) {
      const line = await this.ask();
      if (line === null) {
        if (this.vm === null) break;
        this.d.io.out("\n");
        this.leave();
        continue;
      }
      try {
        if ((await this.handle(line)) === "exit") break;
      } catch (e) {
        this.d.showError(e);
      }
    }
    this.closeReadline();
    return 0;
  }

  /** One line: a built-in, a kvmon command, or (inside a VM) a command for the guest. */
  async handle(line: string): Promise<"exit" | void> {
    const words = splitWords(line);
    if (words.length === 0) return;
    if (this.vm !== null) {
      if (words[0] === "leave" && words.length === 1) return this.leave();
      return this.runInVm(this.vm, line);
    }
    const [cmd, ...args] = words as [string, ...string[]];
    switch (cmd) {
      case "exit":
      case "quit":
        return "exit";
      case "help":
        return this.d.io.out(HELP(this.d.commandNames));
      case "list":
        return this.list();
      case "enter":
        if (args.length !== 1) return this.d.io.err("usage: enter <vm>\n");
        return this.enter(args[0]!);
      case "leave":
        return this.d.io.err("not inside a VM ('enter <vm>' first)\n");
      case "monitor-all":
        return this.monitorAll();
    }
    if (!this.d.commandNames.includes(cmd)) {
      return this.d.io.err(`unknown command '${cmd}' ('help' lists them)\n`);
    }
    this.closeReadline();
    const code = await this.d.runCommand(words);
    if (code !== 0) this.d.io.err(`[${cmd} exited ${code}]\n`);
  }

  private async refreshNames(): Promise<string[]> {
    const snap = await (await this.d.view()).snapshot();
    this.vmNames = snap.domains.map((d) => d.name);
    return this.vmNames;
  }

  private async list(): Promise<void> {
    const snap = await (await this.d.view()).snapshot();
    this.vmNames = snap.domains.map((d) => d.name);
    const rows = sortRows(vmView, viewRows(vmView, snap.domains), "name");
    const lines = drawTable(vmView, rows, {
      width: this.d.output.columns || 200,
      sortKey: "name",
      color: false,
    });
    this.d.io.out(`${lines.join("\n")}\n`);
  }

  private async enter(typed: string): Promise<void> {
    const snap = await (await this.d.view()).snapshot();
    this.vmNames = snap.domains.map((d) => d.name);
    const d = findNamedVm(snap.domains, typed);
    if (!d.state?.active)
      return this.d.io.err(`${d.name} is ${d.state?.state ?? "not running"}: nothing to enter\n`);
    const runner = await this.d.runner();
    // The first command proves the guest agent answers (and, through an agent, that the token is accepted).
    const probe = await runner.run(d.name, "true");
    if (probe.exitCode !== 0)
      return this.d.io.err(`${d.name}: the guest's /bin/sh does not run (exit ${probe.exitCode})\n`);
    this.vm = d.name;
    this.d.io.out(
      `entered ${d.name} through ${runner.via}; every line runs there with sh -c; 'leave' returns\n`,
    );
  }

  private leave(): void {
    this.d.io.out(`left ${this.vm}\n`);
    this.vm = null;
  }

  private async runInVm(vm: string, line: string): Promise<void> {
    const r = await (await this.d.runner()).run(vm, line);
    const text = (o: { text: string | null; base64: string }) =>
      o.text ?? Buffer.from(o.base64, "base64").toString("utf8");
    this.d.io.out(text(r.stdout));
    this.d.io.err(text(r.stderr));
    if (r.timedOut) this.d.io.err(`[timed out after ${r.durationMs} ms${r.killed ? ", killed" : ""}]\n`);
    else if (r.exitCode !== 0) this.d.io.err(`[exit ${r.exitCode}]\n`);
    if (r.truncated) this.d.io.err("[output truncated]\n");
  }

  /** Prints every VM's blocks every interval until a key is pressed (the key is consumed). */
  private async monitorAll(): Promise<void> {
    this.closeReadline();
    const { input } = this.d;
    const key = new AbortController();
    const onKey = () => key.abort();
    const raw = input.isTTY === true;
    if (raw) input.setRawMode(true);
    input.once("data", onKey);
    input.resume();
    const stopped = new Promise<void>((resolve) => key.signal.addEventListener("abort", () => resolve()));
    try {
      const view = await this.d.view();
      this.d.io.out(
        `monitor-all: every ${this.d.monitorIntervalMs / 1000} s from ${view.kind} ${view.origin}; press any key to stop\n`,
      );
      while (!key.signal.aborted) {
        const snap = await Promise.race([view.snapshot(), stopped]);
        if (!snap) break;
        this.d.io.out(`${drawBlocks(snap.domains, snap.collectedAt).join("\n")}\n`);
        await sleep(this.d.monitorIntervalMs, undefined, { signal: key.signal }).catch(() => undefined);
      }
    } finally {
      input.off("data", onKey);
      if (raw) input.setRawMode(false);
      input.pause();
    }
  }

  private ask(): Promise<string | null> {
    const rl = (this.rl ??= createInterface({
      input: this.d.input,
      output: this.d.output,
      history: this.history,
      historySize: 500,
      removeHistoryDuplicates: true,
      completer: (line: string) =>
        this.vm ? [[], line] : complete(line, [...BUILTINS, ...this.d.commandNames], this.vmNames),
    }));
    // Ctrl-C clears the line being typed rather than leaving the shell.
    rl.removeAllListeners("SIGINT");
    rl.on("SIGINT", () => {
      rl.write(null, { ctrl: true, name: "u" });
      this.d.output.write("^C\n");
      rl.prompt();
    });
    return new Promise((resolve) => {
      const onClose = () => {
        this.rl = null;
        resolve(null);
      };
      rl.once("close", onClose);
      rl.question(this.prompt(), (answer) => {
        rl.off("close", onClose);
        resolve(answer);
      });
    });
  }

  private closeReadline(): void {
    const rl = this.rl;
    this.rl = null;
    rl?.close();
  }
}
