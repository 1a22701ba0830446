/**
 * Provider benchmarks.
 *
 * - `provider.router.decision`: the economic router's decision per call — profile → candidates →
 *   breaker gate → key from the pool, plus the success bookkeeping (key counters, breaker) — against
 *   the kernel's direct dispatch (a provider looked up by name) in the same run. Target ≤ 10 µs.
 * - `provider.agent_step.overhead`: the same, as a whole agent step in a running runtime
 *   (`ask` → mailbox → step → router → adapter → reply).
 * - `provider.call.overhead`: a full routed call with the OpenAI adapter (AI SDK) against a local
 *   HTTP server speaking chat completions, against a bare `fetch` + `JSON.parse` of the same request
 *   to the same server, interleaved in the same run. The figure is the added median latency.
 *   Target ≤ 1 ms.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect, Either, Exit, Scope } from "effect";
import { planCandidates } from "../plugins/providers/candidates.ts";
import { makeProviderHub, type ProviderHub } from "../plugins/providers/hub.ts";
import { makeMemoryLedger } from "../plugins/providers/ledger.ts";
import { providersPlugin } from "../plugins/providers/plugin.ts";
import { makeEconomicRouter } from "../plugins/providers/router.ts";
import { makeAgentSystem } from "../runtime/agent-system.ts";
import { makeEventBus } from "../runtime/events.ts";
import type { ModelProvider, ProviderLookup } from "../runtime/model.ts";
import { type Bench, type BenchResult, opsPerSecond, percentile, round } from "./harness.ts";

const emptyLookup: ProviderLookup = { get: () => undefined, names: () => [] };

const makeHub = (env: Record<string, string>): ProviderHub => {
  const events = Effect.runSync(makeEventBus(() => Date.now()));
  const made = makeProviderHub({ config: {}, env, ledger: makeMemoryLedger({ maxRecords: 10_000 }), events });
  if (Either.isLeft(made)) throw new Error(made.left.message);
  return made.right;
};

const decision: Bench = {
  name: "provider.router.decision",
  run: async () => {
    // Three keys for each of the first two `cheap` candidates: a realistic pool to rotate through.
    const hub = makeHub({
      GROQ_API_KEYS: "gsk-bench-aaaa0001,gsk-bench-bbbb0002,gsk-bench-cccc0003",
      CEREBRAS_API_KEYS: "csk-bench-aaaa0001,csk-bench-bbbb0002",
    });
    let sink = 0;
    const decide = (n: number) => {
      for (let i = 0; i < n; i++) {
        const now = Date.now();
        const plan = planCandidates(hub.state(), emptyLookup, { profile: "cheap" });
        if (Either.isLeft(plan)) throw plan.left;
        const target = plan.right[0]!;
        const breaker = hub.breaker(target.provider, target.model);
        if (!breaker.allow(now).allowed || target.kind !== "builtin") throw new Error("unexpected");
        const key = target.pool.acquire(now);
        if ("retryAtMs" in key) throw new Error("unexpected");
        target.pool.succeeded(key, 10);
        breaker.succeeded();
        sink += key.fingerprint.length;
      }
    };
    const providers = new Map<string, ModelProvider>([
      ["groq", { name: "groq" } as unknown as ModelProvider],
    ]);
    const direct = (n: number) => {
      for (let i = 0; i < n; i++) sink += providers.get("groq") ? 1 : 0;
    };
    const decisionsPerSecond = await opsPerSecond(decide, { ms: 1000, batch: 5_000 });
    const directPerSecond = await opsPerSecond(direct, { ms: 500, batch: 100_000 });
    const micros = 1e6 / decisionsPerSecond;
    const baseline = 1e6 / directPerSecond;
    return [
      {
        bench: "provider.router.decision",
        unit: "µs per decision (lower is better)",
        value: round(micros, 3),
        baseline: "direct dispatch: provider looked up by name",
        baselineValue: round(baseline, 4),
        ratio: round(micros / baseline, 1),
        targetMicros: 10,
        meetsTarget: micros <= 10,
        sink: sink > 0,
      },
    ];
  },
};

const COMPLETION = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
});

const overhead: Bench = {
  name: "provider.call.overhead",
  run: async (): Promise<ReadonlyArray<BenchResult>> => {
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(COMPLETION);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const hub = makeHub({
        OPENAI_API_KEYS: "sk-bench-key-0001,sk-bench-key-0002",
        OPENAI_BASE_URL: `${url}/v1`,
      });
      const router = makeEconomicRouter(hub)(emptyLookup);
      const request = {
        messages: [
          { role: "system" as const, content: "You are terse." },
          { role: "user" as const, content: "Say ok." },
        ],
        context: { tree: "bench", address: "/bench/root", agentId: "bench-1" },
      };
      const body = JSON.stringify({ model: "gpt-4o-mini", messages: request.messages });
      const bare = async () => {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer sk-bench-key-0001" },
          body,
        });
        const json = (await res.json()) as { choices: Array<{ message: { content: string } }> };
        if (json.choices[0]!.message.content !== "ok") throw new Error("unexpected answer");
      };
      const routed = async () => {
        const res = await Effect.runPromise(
          router.generate({ provider: "openai", model: "gpt-4o-mini" }, request),
        );
        if (res.text !== "ok") throw new Error("unexpected answer");
      };
      // A whole agent step in a running runtime: ask → mailbox → step → router → adapter → reply.
      const plugin = providersPlugin({
        env: { OPENAI_API_KEY: "sk-bench-key-0003", OPENAI_BASE_URL: `${url}/v1` },
      });
      const scope = Effect.runSync(Scope.make());
      const system = await Effect.runPromise(Scope.extend(makeAgentSystem({ plugins: [plugin] }), scope));
      const tree = await Effect.runPromise(
        system.spawnTree({
          name: "bench",
          root: {
            name: "root",
            kind: "child",
            instructions: "You are terse.",
            model: { provider: "openai", model: "gpt-4o-mini" },
          },
        }),
      );
      const step = async () => {
        const reply = await Effect.runPromise(system.ask(tree.root, "Say ok."));
        if (reply.output !== "ok") throw new Error("unexpected answer");
      };
      for (let i = 0; i < 100; i++) {
        await bare();
        await routed();
        await step();
      }
      const bareMs: Array<number> = [];
      const routedMs: Array<number> = [];
      const stepMs: Array<number> = [];
      for (let i = 0; i < 500; i++) {
        let t = performance.now();
        await bare();
        bareMs.push(performance.now() - t);
        t = performance.now();
        await routed();
        routedMs.push(performance.now() - t);
        t = performance.now();
        await step();
        stepMs.push(performance.now() - t);
      }
      await Effect.runPromise(Scope.close(scope, Exit.void));
      const routedMedian = percentile(routedMs, 50);
      const bareMedian = percentile(bareMs, 50);
      const stepMedian = percentile(stepMs, 50);
      const added = routedMedian - bareMedian;
      return [
        {
          bench: "provider.agent_step.overhead",
          unit: "ms median per agent ask answered by the OpenAI adapter (lower is better)",
          value: round(stepMedian, 3),
          baseline: "bare fetch + JSON.parse of the same request to the same local server",
          baselineValue: round(bareMedian, 3),
          ratio: round(stepMedian / bareMedian, 2),
          addedMs: round(stepMedian - bareMedian, 3),
          p95: round(percentile(stepMs, 95), 3),
          baselineP95: round(percentile(bareMs, 95), 3),
          targetAddedMs: 1,
          meetsTarget: stepMedian - bareMedian <= 1,
          calls: stepMs.length,
        },
        {
          bench: "provider.call.overhead",
          unit: "ms median per call, routed via the OpenAI adapter (lower is better)",
          value: round(routedMedian, 3),
          baseline: "bare fetch + JSON.parse of the same request to the same local server",
          baselineValue: round(bareMedian, 3),
          ratio: round(routedMedian / bareMedian, 2),
          addedMs: round(added, 3),
          p95: round(percentile(routedMs, 95), 3),
          baselineP95: round(percentile(bareMs, 95), 3),
          targetAddedMs: 1,
          meetsTarget: added <= 1,
          calls: routedMs.length,
        },
      ];
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
};

/** The provider benchmarks, for `npm run bench`. */
export const benches: ReadonlyArray<Bench> = [decision, overhead];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const bench of benches) for (const result of await bench.run()) console.log(JSON.stringify(result));
}
