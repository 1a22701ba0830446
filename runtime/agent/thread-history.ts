/**
 * The earlier exchanges of a thread, as messages for the next model call. Each remembered message
 * passes the input guardrails again, like every other text sent to a provider: a redaction policy
 * added since, or a provider farther away than the one that saw it first, applies to it too.
 */
import { Effect } from "effect";
import type { ChatMessage } from "../model.ts";
import type { AskError } from "../system.ts";
import type { AgentCell } from "./cell.ts";

export const threadHistory = (
  cell: AgentCell,
  thread: string,
  destination: "local" | "network",
): Effect.Effect<ReadonlyArray<ChatMessage>, AskError> =>
  Effect.forEach(cell.history(thread), (message) =>
    Effect.map(
      cell.tree.services
        .guardrails()
        .check({ stage: "input", text: message.content, agent: cell.info, destination }),
      (content): ChatMessage => ({ role: message.role, content }),
    ),
  );
