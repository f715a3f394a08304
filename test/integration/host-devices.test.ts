/**
 * A host set up like a brand-new machine without udev: /dev/kvm root:root 0600. The witness is the kernel
 * itself: `runuser -u libvirt-qemu` opens /dev/kvm read-write with exactly the groups libvirt gives QEMU.
 * Checks that after `lab up` QEMU's user can open it, that the agent and `lab status` name the problem with
 * its fix, and that the lab's host preparation repairs it. /dev/kvm's owner and mode are restored after.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmod, chown, stat } from "node:fs/promises";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { startAgent } from "../../src/agent/server.ts";
import { LibvirtSource } from "../../src/agent/libvirt-source.ts";
import { loadConfig } from "../../src/agent/config.ts";
import { checkHost, KVM_DEVICE } from "../../src/host-checks/index.ts";
import { prepareHostDevices } from "../../src/lab/host.ts";

const exec = promisify(execFile);
const hasKvm = await stat(KVM_DEVICE).then(
  () => true,
  () => false,
);
const skip = hasKvm ? false : `${KVM_DEVICE} does not exist on this host`;

/** Whether the kernel lets QEMU's user open /dev/kvm read-write (runuser: the user's own groups). */
async function qemuUserCanOpenKvm(): Promise<boolean> {
  try {
    await exec("runuser", ["-u", "libvirt-qemu", "--", "sh", "-c", `exec 3<>${KVM_DEVICE}`], {
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

test("after lab up, QEMU's user can open /dev/kvm (the kernel says so)", { skip }, async () => {
  assert.equal(await qemuUserCanOpenKvm(), true, `libvirt-qemu cannot open ${KVM_DEVICE} after lab up`);
  assert.deepEqual(await checkHost(), [], "kvmon's own check agrees");
});

describe("a /dev/kvm left root:root 0600 (no udev)", { skip }, () => {
  let original: { uid: number; gid: number; mode: number } | undefined;
  after(async () => {
    if (!original) return;
    await chown(KVM_DEVICE, original.uid, original.gid);
    await chmod(KVM_DEVICE, original.mode);
  });

  test("is named by the check, lab status and the agent, then repaired by the lab's host preparation", async () => {
    const s = await stat(KVM_DEVICE);
    original = { uid: s.uid, gid: s.gid, mode: s.mode & 0o777 };
    await chown(KVM_DEVICE, 0, 0);
    await chmod(KVM_DEVICE, 0o600);
    assert.equal(await qemuUserCanOpenKvm(), false, "the witness sees the broken device");

    const problems = await checkHost();
    assert.deepEqual(
      problems.map((p) => p.code),
      ["HOST_KVM_DEVICE_PERMISSIONS"],
    );

    // `lab status` names it on its first line, before it asks libvirtd anything (which would be slow now).
    assert.match(
      await firstLine(["lab", "status"]),
      /^host problem \(HOST_KVM_DEVICE_PERMISSIONS\): .*fix: chgrp kvm/,
    );

    // The agent names it at start-up, one log line with the fix.
    const lines: string[] = [];
    const config = loadConfig({ flags: { listen: "127.0.0.1:0", uri: "qemu:///system" }, env: {} });
    const source = new LibvirtSource({
      uri: config.uri,
      readOnly: true,
      callTimeoutMs: 5000,
      connectTimeoutMs: 5000,
    });
    const agent = await startAgent(config, source, (line) => lines.push(line));
    await agent.stop();
    const warned = lines.map((l) => JSON.parse(l) as { level: string; msg: string; fix?: string });
    const named = warned.filter((l) => l.level === "warn" && /HOST_KVM_DEVICE_PERMISSIONS/.test(l.msg));
    assert.equal(named.length, 1, lines.join(""));
    assert.match(named[0]!.fix ?? "", /chmod 0660/);

    const said: string[] = [];
    await prepareHostDevices((m) => said.push(m));
    assert.match(said.join("\n"), /set group kvm, mode 0660 as udev would/);
    assert.equal(await qemuUserCanOpenKvm(), true, "the witness sees the repaired device");
    const after = await stat(KVM_DEVICE);
    assert.equal(after.mode & 0o777, 0o660);

    // Already usable: left alone, nothing said.
    const again: string[] = [];
    await prepareHostDevices((m) => again.push(m));
    assert.deepEqual(again, []);
  });
});

/** The first stdout line of `bin/kvmon <args>`; the process is killed once it has printed it. */
function firstLine(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(new URL("../../bin/kvmon", import.meta.url).pathname, args, {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no line from kvmon ${args.join(" ")} within 30 s`));
    }, 30_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(out.slice(0, nl));
    });
    child.once("error", reject);
  });
}
