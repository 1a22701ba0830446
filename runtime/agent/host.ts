/**
 * What an agent cell needs from the tree it lives in and from the runtime: the event bus, the clock,
 * a way to fork fibers that the tree owns, the router, the step's services and the registries.
 */
import type { Effect, Either, Fiber } from "effect";
import type { Approvals } from "../approvals.ts";
import type { Counters } from "../counters.ts";
import type { AnswerBook } from "../durable/answers.ts";
import type { DurableTree } from "../durable/durable-tree.ts";
import type { RestoredAgent } from "../durable/state.ts";
import type { SpecInvalid } from "../errors.ts";
import type { EventBus } from "../events.ts";
import type { GuardrailRunner } from "../guardrail.ts";
import type { ModelRouter } from "../model.ts";
import type { MicroHandler } from "../plugin.ts";
import type { RecallRunner } from "../recall.ts";
import type { Router } from "../router.ts";
import type { CompiledAgent } from "../spec/compile.ts";
import type { ToolRunner } from "../tool.ts";
import type { TripwireMonitor } from "../tripwire.ts";

/** The services an agent step calls, looked up per call so hot reloads apply to the next step. */
export interface StepServices {
  readonly models: () => ModelRouter;
  readonly guardrails: () => GuardrailRunner;
  readonly tools: () => ToolRunner;
  readonly tripwires: () => TripwireMonitor;
  readonly recall: () => RecallRunner;
}

/** The tree, as its cells see it. */
export interface TreeHost {
  readonly treeId: string;
  readonly name: string;
  readonly tenant?: string;
  readonly events: EventBus;
  /** Epoch ms from Effect's Clock (TestClock in tests). */
  readonly now: () => number;
  /** A number in [0, 1) from Effect's Random (TestRandom in tests): backoff jitter. */
  readonly random01: () => number;
  /** Forks an Effect owned by the tree: interrupted when the tree stops, never orphaned. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>;
  readonly router: Router;
  /** Where tool calls wait for a person's approval (one store for the runtime). */
  readonly approvals: Approvals;
  readonly services: StepServices;
  readonly handler: (name: string) => MicroHandler | undefined;
  readonly counters: Counters;
  readonly limits: { readonly maxDepth: number; readonly maxChildren: number; readonly maxAgents: number };
  /** Number of live agents in the tree. */
  readonly agentCount: () => number;
  readonly agentStarted: () => void;
  readonly agentStopped: () => void;
  /** The root exited (crashed, escalated, or exited normally): the tree stops with this reason. */
  readonly rootExited: (reason: string, normal: boolean) => void;
  /** A tripwire asked for the whole tree to stop. */
  readonly stopTree: (reason: string) => void;
  /** Replies kept by idempotency key. */
  readonly answers: AnswerBook;
  /** Set on a durable tree: where its agents' state changes are written. */
  readonly durable?: DurableTree;
  /** While a durable tree comes back: the stored state of the agent at `address`, if there is one. */
  readonly restoring?: (address: string) => RestoredAgent | undefined;
  /** Compiles an agent spec to be spawned below `parent` at runtime. */
  readonly compileChild: (raw: unknown, parent: CompiledAgent) => Either.Either<CompiledAgent, SpecInvalid>;
}
