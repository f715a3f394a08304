/** What the disk cache and io modes mean (src/model/cache-modes.ts), for clients that explain an audit. */
export { cacheMode, ioMode } from "../model/cache-modes.ts";
