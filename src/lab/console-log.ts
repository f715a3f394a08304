/** The tail of a guest's serial console log (written by virtlogd), for error messages about a guest. */
import { open } from "node:fs/promises";
import { join } from "node:path";

export function consoleLogPath(logsDir: string, domain: string): string {
  return join(logsDir, `${domain}.console.log`);
}

/** The last `lines` lines of the log, read from at most its last 64 KiB; "" when there is no log yet. */
export async function consoleTail(path: string, lines = 15): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    return lastLines(buf.toString("utf8"), lines);
  } finally {
    await handle.close();
  }
}

/** The last `n` non-empty lines, with carriage returns and other control characters (but tabs) removed. */
export function lastLines(text: string, n: number): string {
  return text
    .replace(/\r/g, "")
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .slice(-n)
    .join("\n");
}
