/**
 * Typed errors of the runtime. Every error says whose fault it was (`fault`) so the CLI and the
 * wire protocol can tell a person what to do: fix their input or config, blame the model,
 * retry a third party, or report an Arbor bug.
 */
import { Data } from "effect";

/** Who caused an error: the caller's input, their configuration, the model, a third party, or Arbor. */
export type Fault = "user" | "config" | "model" | "third_party" | "arbor";

/** One problem found in a spec, config or params object, located by JSON path (`$.root.children[0].kind`). */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** A tree spec (or config) was refused as a whole; `problems` lists every problem found. */
export class SpecInvalid extends Data.TaggedError("SpecInvalid")<{
  readonly reason: "invalid_spec";
  readonly problems: ReadonlyArray<Problem>;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `invalid tree spec:\n${this.problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`;
  }
}

/** No agent or tree answers to the given address or id. */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly reason: "agent_not_found" | "tree_not_found";
  readonly target: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `${this.reason === "tree_not_found" ? "tree" : "agent"} not found: ${this.target}`;
  }
}

/** A message was refused because the target's mailbox was full and its overflow policy is `fail` or `drop-newest`. */
export class MailboxFull extends Data.TaggedError("MailboxFull")<{
  readonly reason: "mailbox_full";
  readonly address: string;
  readonly capacity: number;
  readonly policy: "fail" | "drop-newest";
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `mailbox of ${this.address} is full (capacity ${this.capacity}, overflow ${this.policy}); slow down or raise mailbox.capacity`;
  }
}

/**
 * The agent that was asked could not answer: it crashed and its supervisor gave up, it is a
 * temporary agent that crashed, or it was stopped while the request was pending.
 */
export class AgentFailed extends Data.TaggedError("AgentFailed")<{
  readonly reason: "crashed" | "stopped" | "gave_up";
  readonly address: string;
  readonly detail: string;
  /** Whose fault the crash was, when known (a crash on model output is the model's); else `arbor`. */
  readonly blame?: Fault;
}> {
  get fault(): Fault {
    return this.blame ?? "arbor";
  }
  override get message(): string {
    return `agent ${this.address} failed (${this.reason}): ${this.detail}`;
  }
}

/**
 * A request did not get its reply within the caller's own deadline (`timeoutMs`): the caller's
 * choice, so fault `user`. The agent's step was interrupted. (A provider that does not answer in
 * its own time limit is a `ProviderError` with reason `timeout`, fault `third_party`.)
 */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly reason: "timeout";
  readonly target: string;
  readonly afterMs: number;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `no reply from ${this.target} within ${this.afterMs} ms`;
  }
}

/** The asker withdrew its request (`agent.cancel`); the agent's step was interrupted. */
export class Cancelled extends Data.TaggedError("Cancelled")<{
  readonly reason: "cancelled";
  readonly target: string;
  readonly requestId: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `request ${this.requestId} to ${this.target} was cancelled by its asker`;
  }
}

/** An agent may not do what it tried (a micro spawning, a child spawning a parent, a limit exceeded). */
export class NotAllowed extends Data.TaggedError("NotAllowed")<{
  readonly reason: "kind" | "limit" | "permission";
  readonly address: string;
  readonly detail: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `${this.address}: ${this.detail}`;
  }
}

/** A plugin could not be loaded: missing dependency, cycle, duplicate name, or its setup failed. */
export class PluginError extends Data.TaggedError("PluginError")<{
  readonly reason: "missing_dependency" | "cycle" | "duplicate" | "setup_failed";
  readonly plugin: string;
  readonly detail: string;
}> {
  readonly fault: Fault = "config";
  override get message(): string {
    return `plugin ${this.plugin}: ${this.detail}`;
  }
}
