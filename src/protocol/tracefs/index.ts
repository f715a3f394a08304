/** The tracefs protocol layer: format files, ring-buffer pages, private trace instances. */
export * from "./errors.ts";
export * from "./format.ts";
export * from "./symbols.ts";
export * from "./ring-buffer.ts";
export * from "./readers.ts";
export * from "./decoder.ts";
export * from "./instance.ts";
