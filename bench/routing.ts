/**
 * Kernel benchmarks, each against a baseline measured in the same run:
 *
 * - `route.micro.tell`: fire-and-forget messages to 100 handler micro agents through the router,
 *   vs raw XState `send` to actors of the same logic, and vs a Node EventEmitter calling the same handler.
 * - `route.roundtrip`: ask a parent that delegates to a child that delegates to a micro agent, all the
 *   way back (two scripted model steps), vs the same work as direct calls without the runtime.
 * - `spawn.tree.10k`: spawn a tree of 10,100 agents (100 children × 100 micro agents) vs creating and
 *   starting the same number of bare XState actors; and heap bytes per idle agent, vs a bare actor.
 * - `spawn.micro.100k_bytes`: the heap of 100,000 idle handler micro agents vs 100,000 bare actors.
 */
import { EventEmitter } from "node:events";
import { Effect, Scope } from "effect";
import { createActor } from "xstate";
import { builtinHandlersPlugin, echoHandler, upperHandler } from "../plugins/handlers/builtin.ts";
import { makeScriptedProvider, scriptedPlugin } from "../plugins/providers/scripted.ts";
import type { Envelope } from "../runtime/agent/envelope.ts";
import { type MicroHost, microHandlerLogic } from "../runtime/agent/micro.ts";
import { type ArborRuntime, makeAgentSystem } from "../runtime/agent-system.ts";
import { type Bench, type BenchResult, opsPerSecond, round } from "./harness.ts";

const withSystem = async <A>(f: (system: ArborRuntime) => Promise<A>): Promise<A> => {
  const scope = Effect.runSync(Scope.make());
  const system = await Effect.runPromise(
    makeAgentSystem({ plugins: [scriptedPlugin, builtinHandlersPlugin] }).pipe(Scope.extend(scope)),
  );
  try {
    return await f(system);
  } finally {
    await Effect.runPromise(Scope.close(scope, { _tag: "Success", value: undefined } as never));
  }
};

const result = (
  bench: string,
  unit: string,
  value: number,
  baseline: string,
  baselineValue: number,
  extra = {},
): BenchResult => ({
  bench,
  unit,
  value: round(value, 1),
  baseline,
  baselineValue: round(baselineValue, 1),
  ratio: round(value / baselineValue, 3),
  ...extra,
});

/**
 * Runs `op` one call after another for about `ms` and returns calls per CPU-second of this process
 * (all its threads, the collector's included): a figure other jobs on the machine move less than wall time.
 */
const perCpuSecond = async (op: () => Promise<unknown>, ms: number): Promise<number> => {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() - start < ms) {
    await op();
    calls++;
  }
  const cpu = process.cpuUsage(cpu0);
  return calls / ((cpu.user + cpu.system) / 1e6);
};

const host: MicroHost = { handlerCrashed: () => {}, handlerExited: () => {} };

const microTell: Bench = {
  name: "route.micro.tell",
  run: () =>
    withSystem(async (system) => {
      const n = 100;
      const children = Array.from({ length: n }, (_, i) => ({
        name: `m${i}`,
        kind: "micro",
        handler: "echo",
      }));
      const handle = await Effect.runPromise(
        system.spawnTree({
          name: "bench",
          root: {
            name: "hub",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            children,
          },
        }),
      );
      const addresses = children.map((c) => `${handle.root}/${c.name}`);
      const actors = Array.from({ length: n }, () =>
        createActor(microHandlerLogic, { input: { host, handler: echoHandler } }).start(),
      );
      const emitter = new EventEmitter();
      const states = new Array<unknown>(n).fill(null);
      for (let i = 0; i < n; i++) {
        emitter.on(`m${i}`, (message: string) => {
          states[i] = echoHandler.handle(states[i] as null, message)[0];
        });
      }
      const names = children.map((c) => c.name);
      // Interleave the three so machine noise hits them alike; keep the best of three rounds each.
      const best = { routed: 0, raw: 0, emitter: 0 };
      for (let round = 0; round < 3; round++) {
        best.routed = Math.max(
          best.routed,
          await opsPerSecond((k) => {
            for (let i = 0; i < k; i++) system.router.tell(addresses[i % n]!, "hello");
          }),
        );
        best.raw = Math.max(
          best.raw,
          await opsPerSecond((k) => {
            for (let i = 0; i < k; i++)
              actors[i % n]!.send({
                type: "MSG",
                envelope: { kind: "tell", input: "hello" } satisfies Envelope,
              });
          }),
        );
        best.emitter = Math.max(
          best.emitter,
          await opsPerSecond((k) => {
            for (let i = 0; i < k; i++) emitter.emit(names[i % n]!, "hello");
          }),
        );
      }
      for (const actor of actors) actor.stop();
      return [
        result(
          "route.micro.tell",
          "messages/s (higher is better)",
          best.routed,
          "xstate.send (same logic)",
          best.raw,
          { target: ">= 0.7" },
        ),
        result(
          "route.micro.tell.vs_emitter",
          "messages/s (higher is better)",
          best.routed,
          "EventEmitter.emit",
          best.emitter,
        ),
      ];
    }),
};

const roundTrip: Bench = {
  name: "route.roundtrip",
  run: () =>
    withSystem(async (system) => {
      const model = { provider: "scripted", script: [{ text: "ok" }] };
      const handle = await Effect.runPromise(
        system.spawnTree({
          name: "rt",
          root: {
            name: "parent",
            kind: "parent",
            model,
            children: [
              { name: "child", kind: "child", children: [{ name: "micro", kind: "micro", handler: "echo" }] },
            ],
          },
        }),
      );
      const ask = system.ask(handle.root, "ping");
      const routed = await opsPerSecond(
        async (k) => {
          for (let i = 0; i < k; i++) await Effect.runPromise(ask);
        },
        { batch: 200, ms: 1500 },
      );
      // Baseline: the same work without the runtime — the echo handler and two scripted model calls.
      const provider = makeScriptedProvider();
      const call = (address: string, content: string) =>
        provider.generate({
          model: "default",
          messages: [{ role: "user", content }],
          options: { script: model.script },
          context: { tree: "rt", address, agentId: address },
        });
      const direct = Effect.gen(function* () {
        const echoed = echoHandler.handle(null, "ping")[1];
        const child = yield* call("/child", `ping\n\nReplies from your team:\n[micro] ${echoed}`);
        return yield* call("/parent", `ping\n\nReplies from your team:\n[child] ${child.text}`);
      });
      const bare = await opsPerSecond(
        async (k) => {
          for (let i = 0; i < k; i++) await Effect.runPromise(direct);
        },
        { batch: 200, ms: 1500 },
      );
      const routedCpu = await perCpuSecond(() => Effect.runPromise(ask), 1500);
      const bareCpu = await perCpuSecond(() => Effect.runPromise(direct), 1500);
      return [
        result(
          "route.roundtrip",
          "round trips/s (higher is better)",
          routed,
          "direct calls, no runtime",
          bare,
          {
            target: ">= 0.2",
            perCpuSecond: Math.round(routedCpu),
            baselinePerCpuSecond: Math.round(bareCpu),
            cpuRatio: round(routedCpu / bareCpu, 3),
          },
        ),
      ];
    }),
};

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapUsed = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const spawn10k: Bench = {
  name: "spawn.tree.10k",
  run: () =>
    withSystem(async (system) => {
      const children = Array.from({ length: 100 }, (_, i) => ({
        name: `c${i}`,
        kind: "child",
        children: Array.from({ length: 100 }, (_, j) => ({ name: `m${j}`, kind: "micro", handler: "echo" })),
      }));
      const spec = {
        name: "big",
        root: {
          name: "root",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          children,
        },
      };
      const agents = 1 + 100 + 100 * 100;
      // Warm up once (JIT), then measure a fresh tree.
      const warm = await Effect.runPromise(system.spawnTree(spec));
      await Effect.runPromise(system.stopTree(warm.treeId));
      const before = heapUsed();
      const start = performance.now();
      const handle = await Effect.runPromise(system.spawnTree(spec));
      const spawnMs = performance.now() - start;
      const bytesPerAgent = (heapUsed() - before) / agents;
      await Effect.runPromise(system.stopTree(handle.treeId));

      const rawBefore = heapUsed();
      const rawStart = performance.now();
      const actors = Array.from({ length: agents }, () =>
        createActor(microHandlerLogic, { input: { host, handler: echoHandler } }).start(),
      );
      const rawMs = performance.now() - rawStart;
      const rawBytes = (heapUsed() - rawBefore) / agents;
      for (const actor of actors) actor.stop();
      const measured = (globalThis as { gc?: unknown }).gc !== undefined;
      return [
        result(
          "spawn.tree.10k",
          "agents/s (higher is better)",
          (agents / spawnMs) * 1000,
          "bare xstate createActor+start",
          (agents / rawMs) * 1000,
          {
            agents,
            target: ">= 20000",
          },
        ),
        result(
          "spawn.idle_bytes",
          "heap bytes per idle agent (lower is better)",
          bytesPerAgent,
          "bare xstate actor",
          rawBytes,
          {
            agents,
            target: "<= 8192",
            ...(measured ? {} : { note: "run with node --expose-gc for exact heap figures" }),
          },
        ),
      ];
    }),
};

/**
 * `spawn.micro.100k_bytes`: the heap of a tree holding 100,000 idle handler micro agents (100
 * children × 1,000 micros, handler `upper`), vs 100,000 bare XState actors of the same handler logic;
 * and, as `afterOneMessageMB`, the tree's heap once every micro has handled one message.
 */
const microHeap100k: Bench = {
  name: "spawn.micro.100k_bytes",
  run: () =>
    withSystem(async (system) => {
      const perChild = 1_000;
      const children = Array.from({ length: 100 }, (_, i) => ({
        name: `c${i}`,
        kind: "child",
        children: Array.from({ length: perChild }, (_, j) => ({
          name: `m${j}`,
          kind: "micro",
          handler: "upper",
        })),
      }));
      const micros = children.length * perChild;
      const spec = {
        name: "micros",
        limits: { maxAgents: 200_000 },
        root: {
          name: "root",
          kind: "parent",
          model: { provider: "scripted", script: [{ text: "ok" }] },
          children,
        },
      };
      const mb = (bytes: number) => bytes / 2 ** 20;
      const before = heapUsed();
      const handle = await Effect.runPromise(system.spawnTree(spec));
      const idle = heapUsed() - before;
      for (const child of children)
        for (const micro of child.children)
          system.router.tell(`${handle.root}/${child.name}/${micro.name}`, "hi");
      const afterOne = heapUsed() - before;
      await Effect.runPromise(system.stopTree(handle.treeId));

      const rawBefore = heapUsed();
      const actors = Array.from({ length: micros }, () =>
        createActor(microHandlerLogic, { input: { host, handler: upperHandler } }).start(),
      );
      const raw = heapUsed() - rawBefore;
      for (const actor of actors) actor.stop();
      return [
        result(
          "spawn.micro.100k_bytes",
          "heap MB for 100k idle micro agents (lower is better)",
          mb(idle),
          "100k bare xstate actors (same handler logic)",
          mb(raw),
          {
            agents: micros + 1 + children.length,
            bytesPerMicro: Math.round(idle / micros),
            afterOneMessageMB: Math.round(mb(afterOne)),
            target: "<= 250",
            ...((globalThis as { gc?: unknown }).gc !== undefined
              ? {}
              : { note: "run with node --expose-gc for exact heap figures" }),
          },
        ),
      ];
    }),
};

export const benches: ReadonlyArray<Bench> = [microTell, roundTrip, spawn10k, microHeap100k];
