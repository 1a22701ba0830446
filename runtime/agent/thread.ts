/**
 * Conversation threads: an agent's bounded memory of the exchanges on each thread id. Pure data and
 * pure functions, kept in the lifecycle statechart's context, so a thread survives the agent's
 * restarts and is part of its persisted snapshot.
 */

/** One remembered message of a thread. */
export interface ThreadMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

/** How much of a thread is kept (the spec's `history`). */
export interface HistoryLimits {
  readonly maxMessages: number;
  readonly maxTokens: number;
}

/**
 * A rough token count (4 characters a token), the same for every provider: the bound is a budget
 * for what is resent with each ask, not an exact tokenizer count.
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** Appends an exchange and drops the oldest messages beyond either bound. */
export const appendExchange = (
  history: ReadonlyArray<ThreadMessage>,
  exchange: ReadonlyArray<ThreadMessage>,
  limits: HistoryLimits,
): ReadonlyArray<ThreadMessage> => {
  const all = [...history, ...exchange];
  let tokens = all.reduce((sum, m) => sum + estimateTokens(m.content), 0);
  let start = Math.max(0, all.length - limits.maxMessages);
  for (let i = 0; i < start; i++) tokens -= estimateTokens(all[i]!.content);
  while (start < all.length && tokens > limits.maxTokens) {
    tokens -= estimateTokens(all[start]!.content);
    start++;
  }
  return all.slice(start);
};
