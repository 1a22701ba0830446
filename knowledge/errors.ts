/**
 * Typed errors of the knowledge area. Each says whose fault it was (`fault`), so the CLI and the
 * wire protocol can tell a person whether to fix their input, their configuration, or a database.
 */
import { Data } from "effect";
import type { Fault } from "../runtime/errors.ts";

/** Which store an error came from. */
export type StoreName = "pglite" | "pg" | "neo4j";

/**
 * The caller asked for something the memory cannot do: an unknown entity, a vector of the wrong
 * dimension, an empty query, params that do not match the operation's schema.
 */
export class KnowledgeInputError extends Data.TaggedError("KnowledgeInputError")<{
  readonly reason: "unknown_entity" | "bad_dimension" | "empty_query" | "invalid_params" | "empty_document";
  readonly detail: string;
}> {
  readonly fault: Fault = "user";
  override get message(): string {
    return `${this.reason}: ${this.detail}`;
  }
}

/**
 * A store refused or failed a statement. `connection_failed` and `query_failed` against a
 * server (`pg`, `neo4j`) are a third party's fault; against the embedded PGlite they are Arbor's.
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: "connection_failed" | "query_failed" | "migration_failed" | "locked";
  readonly store: StoreName;
  readonly detail: string;
}> {
  get fault(): Fault {
    // A data dir in use by another process is the operator's to sort out.
    if (this.reason === "locked") return "user";
    return this.store === "pglite" ? "arbor" : "third_party";
  }
  override get message(): string {
    return `${this.store}: ${this.reason}: ${this.detail}`;
  }
}

/** The knowledge configuration is unusable (a bad URL, a dimension that differs from the stored one). */
export class KnowledgeConfigError extends Data.TaggedError("KnowledgeConfigError")<{
  readonly reason: "invalid_config" | "dimension_mismatch" | "embedder_mismatch";
  readonly detail: string;
}> {
  readonly fault: Fault = "config";
  override get message(): string {
    return `knowledge config: ${this.detail}`;
  }
}

/** The embedder failed: the provider behind the router, a local model, or an answer of the wrong shape. */
export class EmbedError extends Data.TaggedError("EmbedError")<{
  readonly reason: "provider_failed" | "bad_dimension" | "model_failed";
  readonly detail: string;
  readonly fault: Fault;
}> {
  override get message(): string {
    return `embedder: ${this.reason}: ${this.detail}`;
  }
}

/** Every error a knowledge operation can fail with. */
export type KnowledgeError = KnowledgeInputError | StoreError | KnowledgeConfigError | EmbedError;

/** Short text of an unknown thrown value, for `detail` fields. */
export const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : JSON.stringify(cause);
