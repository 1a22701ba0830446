/**
 * Agent ids (`ag_<base 36 counter>`), unique in the process. Ids of agents that came back from a
 * durable store are reserved, so an id drawn later never clashes with one of theirs.
 */
let nextId = 0;

/** A fresh agent id. */
export const newAgentId = (): string => `ag_${(nextId++).toString(36)}`;

/** An id read back from a durable store: later ids are drawn past it. */
export const reserveAgentId = (id: string): string => {
  const n = /^ag_([0-9a-z]+)$/.exec(id);
  if (n) nextId = Math.max(nextId, Number.parseInt(n[1]!, 36) + 1);
  return id;
};
