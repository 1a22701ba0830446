/**
 * Guardrail and tool-call benchmarks.
 *
 * - `guardrail.pii.redact`: full PII redaction (secrets, emails, IBANs with mod 97, cards with Luhn,
 *   IPv4/IPv6, phones) over a mix of clean and dirty texts, against the naive baseline of one
 *   email regex replace over the same texts in the same run. Higher is better; the ratio is the
 *   price of covering six kinds with checksums instead of one.
 * - `guardrail.check.input`: the whole input-stage runner (length, deny, injection, PII, events)
 *   per text, against `redactPii` alone on the same texts: the price of the runner around it.
 * - `tool.call.overhead`: one `ToolRunner.call` (events, permission check, Schema validation,
 *   timeout, result rendering) of a trivial tool, against running the same handler directly.
 */
import { Effect, Schema } from "effect";
import { builtinGuardrails } from "../plugins/guardrails/builtins.ts";
import { redactPii } from "../plugins/guardrails/pii.ts";
import { makeGuardrailRunner } from "../plugins/guardrails/runner.ts";
import { defineTool } from "../plugins/tools/define.ts";
import { makeToolRunner } from "../plugins/tools/runner.ts";
import type { AgentInfo } from "../runtime/agent-info.ts";
import { makeEventBus } from "../runtime/events.ts";
import type { AgentOps } from "../runtime/tool.ts";
import { type Bench, opsPerSecond, round } from "./harness.ts";

const texts = [
  "Plan a three-day trip to Lisbon with a focus on food and architecture.",
  "Contact jane.doe@example.com or call +1 415 555 2671 about order 12345.",
  "Refund card 4111 1111 1111 1111 and wire the rest to DE89 3704 0044 0532 0130 00.",
  "The server at 10.0.0.12 logged key=AKIAIOSFODNN7EXAMPLE at 2024-03-15 10:30.",
  "Summarize the attached report in five bullet points for the board meeting on Friday.",
  "IPv6 fe80::1ff:fe23:4567:890a replied; version 1.2.3 is deployed to staging.",
];

const agent: AgentInfo = {
  tree: "bench",
  treeId: "bench",
  address: "/bench/root",
  id: "root",
  name: "root",
  kind: "parent",
  depth: 0,
  settings: {},
};

const noOps: AgentOps = {
  spawn: () => Effect.fail(new Error("unused")),
  send: () => Effect.fail(new Error("unused")),
  ask: () => Effect.fail(new Error("unused")),
  resolve: (to: string) => to,
};

let sink = 0;

const piiRedact: Bench = {
  name: "guardrail.pii.redact",
  run: async () => {
    const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
    const full = await opsPerSecond((n) => {
      for (let i = 0; i < n; i++) sink += redactPii(texts[i % texts.length]!).text.length;
    });
    const naive = await opsPerSecond((n) => {
      for (let i = 0; i < n; i++) sink += texts[i % texts.length]!.replace(email, "[EMAIL]").length;
    });
    return [
      {
        bench: "guardrail.pii.redact",
        unit: "texts/s (higher is better)",
        value: round(full, 0),
        baseline: "one email regex replace",
        baselineValue: round(naive, 0),
        ratio: round(full / naive),
        usPerText: round(1e6 / full),
      },
    ];
  },
};

const runnerCheck: Bench = {
  name: "guardrail.check.input",
  run: async () => {
    const events = Effect.runSync(makeEventBus(() => Date.now()));
    const runner = makeGuardrailRunner({ guardrails: () => builtinGuardrails, events });
    const checkAll = (n: number) =>
      Effect.runSync(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) {
            const text = texts[i % texts.length]!;
            const checked = yield* Effect.either(
              runner.check({ stage: "input", text, agent, destination: "network" }),
            );
            sink += checked._tag === "Right" ? checked.right.length : 1;
          }
        }),
      );
    const checked = await opsPerSecond(checkAll, { batch: 2000 });
    const bare = await opsPerSecond(
      (n) => {
        for (let i = 0; i < n; i++) sink += redactPii(texts[i % texts.length]!).text.length;
      },
      { batch: 2000 },
    );
    return [
      {
        bench: "guardrail.check.input",
        unit: "texts/s (higher is better)",
        value: round(checked, 0),
        baseline: "redactPii alone",
        baselineValue: round(bare, 0),
        ratio: round(checked / bare),
        usPerText: round(1e6 / checked),
      },
    ];
  },
};

const toolCall: Bench = {
  name: "tool.call.overhead",
  run: async () => {
    const add = defineTool({
      name: "add",
      description: "Add two integers.",
      input: Schema.Struct({ a: Schema.Int, b: Schema.Int }),
      run: ({ a, b }) => Effect.succeed(a + b),
    });
    const events = Effect.runSync(makeEventBus(() => Date.now()));
    const runner = makeToolRunner({ tools: () => [add], events });
    const ctx = { agent, ops: noOps };
    const viaRunner = await opsPerSecond(
      (n) =>
        Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) {
              const result = yield* runner.call({ id: "c", name: "add", args: { a: i, b: 1 } }, ctx);
              sink += result.content.length;
            }
          }),
        ),
      { batch: 2000 },
    );
    const direct = await opsPerSecond(
      (n) =>
        Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) {
              const result = yield* add.run({ a: i, b: 1 }, ctx);
              sink += String(result).length;
            }
          }),
        ),
      { batch: 2000 },
    );
    const usRunner = 1e6 / viaRunner;
    const usDirect = 1e6 / direct;
    return [
      {
        bench: "tool.call.overhead",
        unit: "µs per call (lower is better)",
        value: round(usRunner, 2),
        baseline: "the handler run directly",
        baselineValue: round(usDirect, 3),
        ratio: round(usRunner / usDirect, 0),
        usAddedPerCall: round(usRunner - usDirect, 2),
        note: "most of the added time is the per-call timeout (a timer and a fiber); tool calls wait on I/O",
      },
    ];
  },
};

/** The safety and tool benchmarks. */
export const benches: ReadonlyArray<Bench> = [piiRedact, runnerCheck, toolCall];

/** Keeps the optimizer from discarding the measured work. */
export const benchSink = (): number => sink;
