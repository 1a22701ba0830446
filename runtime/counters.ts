/** Runtime-wide counters for `runtime.stats` and `/metrics`. Plain numbers: they sit on the hot path. */
export interface Counters {
  messagesRouted: number;
  messagesDropped: number;
  restarts: number;
  providerCalls: number;
  tokens: number;
  errors: number;
}

export const makeCounters = (): Counters => ({
  messagesRouted: 0,
  messagesDropped: 0,
  restarts: 0,
  providerCalls: 0,
  tokens: 0,
  errors: 0,
});
