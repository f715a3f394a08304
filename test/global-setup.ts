/**
 * Global setup for `node --test`: placeholder until the lab lands. The lab work replaces this with
 * bringing the lab up once for every integration test file.
 */
export async function globalSetup(): Promise<void> {}
export async function globalTeardown(): Promise<void> {}
