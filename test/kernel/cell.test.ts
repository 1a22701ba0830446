import { Effect, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import type { AgentCell } from "../../runtime/agent/cell.ts";
import { count, makeTestSystem, run, waitFor } from "./support.ts";

const spec = {
  name: "c",
  root: {
    name: "root",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "ok" }] },
    supervision: { backoff: { minMs: 1, maxMs: 2 } },
    children: [
      { name: "w", kind: "child", model: { provider: "scripted", script: [{ text: "done" }] } },
      { name: "m", kind: "micro", handler: "crashy" },
    ],
  },
};

describe("the cell's lifecycle statechart", () => {
  it("is plain data: its persisted snapshot survives JSON and says state, incarnation and task", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(spec);
        const cell = system.router.resolve("/c/root/w") as AgentCell;
        expect((yield* system.ask("/c/root/w", "go")).output).toBe("done");
        yield* system.killAgent("/c/root/w", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/c/root/w") === 1);
        const snapshot = cell.durableState();
        expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
        expect(snapshot).toMatchObject({
          lifecycle: {
            value: { running: "idle" },
            context: { address: "/c/root/w", incarnation: 2, current: null, lastCrash: "drill" },
          },
          restarts: 1,
          queued: [],
        });
        expect((yield* system.inspect("c")).children[0]).toMatchObject({ state: "idle", restarts: 1 });
      }),
    );
  });
});

describe("an agent that has not worked yet", () => {
  it("is listed, persisted, killed, restarted and asked like one that has", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(spec);
        const worker = system.router.resolve("/c/root/w") as AgentCell;
        const micro = system.router.resolve("/c/root/m") as AgentCell;
        expect((yield* system.inspect("c")).children).toMatchObject([
          { address: "/c/root/w", status: "running", state: "idle", restarts: 0, mailbox: { size: 0 } },
          { address: "/c/root/m", status: "running", state: "idle", restarts: 0, mailbox: { size: 0 } },
        ]);
        const state = worker.durableState();
        expect(JSON.parse(JSON.stringify(state))).toEqual(state);
        expect(state).toMatchObject({
          lifecycle: {
            status: "active",
            value: { running: "idle" },
            context: { address: "/c/root/w", incarnation: 1, current: null, lastCrash: "", threads: {} },
          },
          restarts: 0,
          queued: [],
        });
        expect(micro.durableState()).toMatchObject({ handler: null, queued: [] });

        yield* system.killAgent("/c/root/w", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/c/root/w") === 1);
        expect(worker.durableState().lifecycle).toMatchObject({
          value: { running: "idle" },
          context: { incarnation: 2, lastCrash: "drill" },
        });
        expect((yield* system.ask("/c/root/w", "go")).output).toBe("done");
        expect((yield* system.ask("/c/root/m", "go")).output).toBe("ok:go");

        yield* system.stopTree("c");
        expect(events.filter((e) => e.type === "agent.stopped").map((e) => e.address)).toEqual(
          expect.arrayContaining(["/c/root/w", "/c/root/m", "/c/root"]),
        );
        expect(micro.status).toBe("stopped");
      }),
    );
  });
});

describe("the cell's persisted state", () => {
  it("lists the task in flight by id and the tasks waiting in the mailbox, in order", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "q",
          root: {
            name: "w",
            kind: "child",
            model: { provider: "scripted", script: [{ delayMs: 60_000, text: "x" }] },
          },
        });
        const cell = system.router.resolve("/q/w") as AgentCell;
        yield* Effect.fork(system.ask("/q/w", "first", { requestId: "r1" }));
        yield* waitFor(events, (es) => count(es, "agent.task", "/q/w") === 1);
        yield* Effect.fork(system.ask("/q/w", "second", { requestId: "r2", thread: "t" }));
        yield* waitFor(events, () => cell.mailbox.size === 1);
        yield* system.send("/q/w", "third");
        const state = cell.durableState();
        expect(state).toMatchObject({
          lifecycle: { value: { running: "working" }, context: { current: "r1" } },
          inFlight: { kind: "ask", input: "first", requestId: "r1" },
          queued: [
            { kind: "ask", input: "second", requestId: "r2", thread: "t" },
            { kind: "tell", input: "third" },
          ],
        });
        expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      }),
    );
  });
});

describe("event listeners", () => {
  it("a throwing listener is isolated and counted: the runtime and the other listeners go on", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        system.events.listen((e) => {
          if (e.type === "agent.failed") throw new Error("listener bug");
        });
        yield* system.spawnTree(spec);
        yield* system.killAgent("/c/root/m", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/c/root/m") === 1);
        expect(system.events.listenerErrors()).toBe(1);
        expect(events.find((e) => e.type === "listener.failed")).toMatchObject({
          event: "agent.failed",
          reason: "listener bug",
          address: "/c/root/m",
        });
        expect((yield* system.ask("/c/root/m", "still")).output).toBe("ok:still");
      }),
    );
  });
});

describe("an agent in the middle of its first task", () => {
  it("shows it is working, and retries the task in its next incarnation when it is killed", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "k",
          root: {
            name: "root",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            supervision: { backoff: { minMs: 1, maxMs: 2 } },
            children: [
              {
                name: "w",
                kind: "child",
                model: {
                  provider: "scripted",
                  script: [{ delayMs: 60_000, text: "slow" }, { text: "again" }],
                },
              },
            ],
          },
        });
        const cell = system.router.resolve("/k/root/w") as AgentCell;
        const asked = yield* Effect.fork(system.ask("/k/root/w", "go", { requestId: "r1" }));
        yield* waitFor(events, () => cell.state === "working");
        expect((yield* system.inspect("k")).children[0]).toMatchObject({
          address: "/k/root/w",
          state: "working",
        });
        expect(cell.durableState().lifecycle).toMatchObject({
          value: { running: "working" },
          context: { incarnation: 1, current: "r1" },
        });
        yield* system.killAgent("/k/root/w", "drill");
        expect((yield* Fiber.join(asked)).output).toBe("again");
        expect(cell.durableState().lifecycle).toMatchObject({
          value: { running: "idle" },
          context: { incarnation: 2, current: null, lastCrash: "drill" },
        });
      }),
    );
  });
});
