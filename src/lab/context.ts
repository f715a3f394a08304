/**
 * What every lab operation works with: the libvirt access, the lab's paths and a progress reporter. Its own
 * module so the lab's parts (guests, the KVM guest, status) depend on it rather than on the orchestrator.
 */
import { type LabPaths, labPaths } from "./config.ts";
import { type Progress, silent, waitingFor } from "./progress.ts";
import { type LabLibvirt, virshLibvirt } from "./virsh.ts";

export interface LabContext {
  lv: LabLibvirt;
  paths: LabPaths;
  progress: Progress;
}

export function labContext(progress: Progress = silent): LabContext {
  return { lv: reportSlowCalls(virshLibvirt(), progress), paths: labPaths(), progress };
}

/**
 * `lv` with every call that takes more than a few seconds reported while it runs ("waiting for libvirt
 * define kvmon-lab-1 (13 s so far)"): a libvirtd that is slow for a host reason must not look like a hang.
 */
export function reportSlowCalls(lv: LabLibvirt, progress: Progress): LabLibvirt {
  if (progress === silent) return lv;
  return new Proxy(lv, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const subject = typeof args[0] === "string" && !args[0].startsWith("<") ? ` ${args[0]}` : "";
        return waitingFor(progress, `libvirt ${String(key)}${subject}`, result);
      };
    },
  });
}
