/** A page fills the main element and returns its cleanup (timers, charts, listeners). */
import type { Session } from "./session.ts";

export type Cleanup = () => void;
export type Page = (main: HTMLElement, session: Session, onAuthLost: () => void) => Cleanup;
