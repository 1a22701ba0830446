/** Preact with htm: JSX-like templates in plain JavaScript, so the page needs no build step. */

import htm from "htm";
import { h } from "preact";

export const html = htm.bind(h);

/** "3.2 s", "410 ms", "2 min" */
export const duration = (ms) =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 120_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${Math.round(ms / 60_000)} min`;

/** A wire error as one readable line, with its problems by path when it has them. */
export const describeError = (error) => {
  const problems = error?.data?.problems;
  return Array.isArray(problems) && problems.length > 0
    ? `${error.message}\n${problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`
    : String(error?.message ?? error);
};
