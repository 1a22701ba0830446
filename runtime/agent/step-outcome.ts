/**
 * How an agent step ended: a reply, a typed failure for the asker (the agent carries on), a crash
 * (abnormal exit: the supervisor decides), or a normal exit requested by the agent's logic.
 */
import type { Fault } from "../errors.ts";
import type { AskError, Reply } from "../system.ts";
import type { TripwireTripped } from "../tripwire.ts";

export type StepOutcome =
  | { readonly _tag: "Replied"; readonly reply: Reply; readonly exit?: string }
  | { readonly _tag: "Failed"; readonly error: AskError }
  /** `fault`: whose fault the crash was (the model's output, the user's handler, Arbor itself). */
  | { readonly _tag: "Crashed"; readonly reason: string; readonly fault: Fault }
  | { readonly _tag: "StopTree"; readonly error: TripwireTripped };
