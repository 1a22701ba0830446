import { Effect, Either, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import type { AgentCell } from "../../runtime/agent/cell.ts";
import { agentOps } from "../../runtime/agent/ops.ts";
import { AgentFailed, NotAllowed, NotFound } from "../../runtime/errors.ts";
import { count, makeTestSystem, run, typesAt, waitFor } from "./support.ts";

const crashy = (name: string, restart?: string) => ({
  name,
  kind: "micro",
  handler: "crashy",
  ...(restart ? { restart } : {}),
});
const fast = { minMs: 1, maxMs: 5 };
const worker = (script: unknown[]) => ({ name: "w", kind: "child", model: { provider: "scripted", script } });
const tree = (strategy: string, children: unknown[], extra: Record<string, unknown> = {}) => ({
  name: "t",
  root: {
    name: "sup",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "ok" }] },
    supervision: { strategy, maxRestarts: 10, periodMs: 60_000, backoff: fast },
    children,
    ...extra,
  },
});
const restartedAddresses = (events: ReadonlyArray<{ type: string; address: string }>) =>
  events.filter((e) => e.type === "agent.restarted").map((e) => e.address);

describe("supervision strategies", () => {
  it("one_for_one restarts only the child that failed, and it serves again", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("one_for_one", [crashy("a"), crashy("b"), crashy("c")]));
        yield* system.killAgent("/t/sup/b", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted") === 1);
        expect(restartedAddresses(events)).toEqual(["/t/sup/b"]);
        expect(count(events, "agent.stopped")).toBe(0);
        expect((yield* system.ask("/t/sup/b", "again")).output).toBe("ok:again");
        const node = yield* system.inspect("t");
        expect(node.children.map((c) => c.restarts)).toEqual([0, 1, 0]);
      }),
    );
  });

  it("one_for_all stops the siblings (last started first) and restarts all in spec order", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("one_for_all", [crashy("a"), crashy("b"), crashy("c")]));
        yield* system.killAgent("/t/sup/b", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted") === 3);
        expect(events.filter((e) => e.type === "agent.stopped").map((e) => e.address)).toEqual([
          "/t/sup/c",
          "/t/sup/a",
        ]);
        expect(restartedAddresses(events)).toEqual(["/t/sup/a", "/t/sup/b", "/t/sup/c"]);
      }),
    );
  });

  it("rest_for_one restarts the failed child and the ones started after it", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("rest_for_one", [crashy("a"), crashy("b"), crashy("c"), crashy("d")]));
        yield* system.killAgent("/t/sup/b", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted") === 3);
        expect(events.filter((e) => e.type === "agent.stopped").map((e) => e.address)).toEqual([
          "/t/sup/d",
          "/t/sup/c",
        ]);
        expect(restartedAddresses(events)).toEqual(["/t/sup/b", "/t/sup/c", "/t/sup/d"]);
      }),
    );
  });
});

describe("restart types", () => {
  it("permanent children are restarted even after a normal exit", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          tree("one_for_one", [{ name: "p", kind: "micro", handler: "finisher", restart: "permanent" }]),
        );
        expect((yield* system.ask("/t/sup/p", "job")).output).toBe("done:job");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/t/sup/p") === 1);
        expect(typesAt(events, "/t/sup/p")).toEqual(["agent.spawned", "agent.stopped", "agent.restarted"]);
      }),
    );
  });

  it("transient children are restarted after a crash but not after a normal exit", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          tree("one_for_one", [
            { name: "fin", kind: "micro", handler: "finisher", restart: "transient" },
            crashy("cr", "transient"),
          ]),
        );
        yield* system.ask("/t/sup/fin", "job");
        yield* system.killAgent("/t/sup/cr", "drill");
        yield* waitFor(
          events,
          (es) =>
            count(es, "agent.restarted", "/t/sup/cr") === 1 && count(es, "agent.stopped", "/t/sup/fin") === 1,
        );
        expect(count(events, "agent.restarted", "/t/sup/fin")).toBe(0);
        const gone = yield* Effect.flip(system.ask("/t/sup/fin", "again"));
        expect(gone).toBeInstanceOf(NotFound);
        const node = yield* system.inspect("t");
        expect(node.children.map((c) => [c.name, c.status])).toEqual([
          ["fin", "stopped"],
          ["cr", "running"],
        ]);
      }),
    );
  });

  it("temporary children are never restarted and leave the tree", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("one_for_one", [crashy("tmp", "temporary"), crashy("keep")]));
        yield* system.killAgent("/t/sup/tmp", "drill");
        yield* waitFor(events, (es) => count(es, "agent.stopped", "/t/sup/tmp") === 1);
        expect(count(events, "agent.restarted")).toBe(0);
        expect((yield* system.inspect("t")).children.map((c) => c.name)).toEqual(["keep"]);
      }),
    );
  });
});

describe("restarting a supervisor", () => {
  it("starts its children from the spec again: a temporary child that left comes back", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          tree("one_for_one", [
            { name: "mid", kind: "child", children: [crashy("tmp", "temporary"), crashy("keep")] },
          ]),
        );
        yield* system.killAgent("/t/sup/mid/tmp", "drill");
        yield* waitFor(events, (es) => count(es, "agent.stopped", "/t/sup/mid/tmp") === 1);
        expect((yield* system.inspect("t")).children[0]!.children.map((c) => c.name)).toEqual(["keep"]);
        yield* system.killAgent("/t/sup/mid", "drill");
        yield* waitFor(events, (es) => count(es, "agent.restarted", "/t/sup/mid") === 1);
        expect((yield* system.inspect("t")).children[0]!.children.map((c) => [c.name, c.status])).toEqual([
          ["tmp", "running"],
          ["keep", "running"],
        ]);
        expect((yield* system.ask("/t/sup/mid/tmp", "back")).output).toBe("ok:back");
      }),
    );
  });
});

describe("restart intensity and escalation", () => {
  it("escalates up two levels, stops the tree with the reason, and fails pending askers by name", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        const handle = yield* system.spawnTree({
          name: "esc",
          root: {
            name: "root",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            supervision: { maxRestarts: 1, periodMs: 60_000, backoff: fast },
            children: [
              {
                name: "mid",
                kind: "child",
                supervision: { maxRestarts: 1, periodMs: 60_000, backoff: fast },
                children: [crashy("leaf")],
              },
              {
                name: "slow",
                kind: "child",
                model: { provider: "scripted", script: [{ delayMs: 60_000, text: "late" }] },
              },
            ],
          },
        });
        const pending = yield* Effect.fork(system.ask("/esc/root/slow", "take your time"));
        const crashLeaf = (n: number) =>
          Effect.gen(function* () {
            yield* waitFor(
              events,
              (es) => count(es, "agent.spawned") >= 4 && (n === 0 || count(es, "agent.restarted") >= n),
            );
            yield* system.killAgent("/esc/root/mid/leaf", "drill");
          });
        yield* crashLeaf(0); // mid restarts leaf (1 restart within mid's period)
        yield* crashLeaf(1); // mid exceeds its intensity → escalates; root restarts mid
        yield* waitFor(
          events,
          (es) =>
            count(es, "agent.escalated", "/esc/root/mid") === 1 &&
            count(es, "agent.restarted", "/esc/root/mid") === 1,
        );
        yield* crashLeaf(2); // fresh mid restarts leaf
        yield* crashLeaf(3); // mid escalates again → root exceeds → tree stops
        const end = yield* system.awaitTree(handle.treeId).pipe(Effect.orElseSucceed(() => undefined));
        yield* waitFor(events, (es) => count(es, "tree.stopped") === 1);
        const stopped = events.find((e) => e.type === "tree.stopped");
        expect(stopped).toMatchObject({
          status: "failed",
          reason: expect.stringMatching(/restart intensity exceeded.*\/esc\/root\/mid/),
        });
        expect(count(events, "agent.escalated", "/esc/root/mid")).toBe(2);
        expect(count(events, "agent.escalated", "/esc/root")).toBe(1);
        expect(end === undefined || end.status === "failed").toBe(true);
        const failure = yield* Fiber.join(pending).pipe(Effect.flip);
        expect(failure).toBeInstanceOf(AgentFailed);
        expect(failure).toMatchObject({
          address: "/esc/root/slow",
          detail: expect.stringMatching(/restart intensity exceeded/),
        });
        expect(system.trees()).toHaveLength(0);
      }),
    );
  });
});

describe("tasks survive crashes", () => {
  it("a poison message is tried three times, then its asker gets a typed failure and the agent goes on", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("one_for_one", [crashy("c")]));
        const failure = yield* Effect.flip(system.ask("/t/sup/c", "crash"));
        expect(failure).toBeInstanceOf(AgentFailed);
        expect(failure.message).toMatch(/crashed the agent 3 times \(last: asked to crash\)/);
        expect(count(events, "agent.failed", "/t/sup/c")).toBe(3);
        expect((yield* system.ask("/t/sup/c", "fine")).output).toBe("ok:fine");
      }),
    );
  });

  it("a task in flight when the agent crashes is processed again by the restarted incarnation, answered once", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          tree("one_for_one", [worker([{ crash: "boom" }, { text: "second time lucky" }])]),
        );
        const reply = yield* system.ask("/t/sup/w", "do it");
        expect(reply.output).toBe("second time lucky");
        expect(typesAt(events, "/t/sup/w")).toEqual([
          "agent.spawned",
          "agent.task",
          "agent.failed",
          "agent.restarted",
          "agent.task",
          "agent.replied",
        ]);
      }),
    );
  });

  it("an operator kill is a crash: the supervisor restarts the agent and the task still gets its reply", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(tree("one_for_one", [worker([{ delayMs: 300, text: "finally" }])]));
        const asked = yield* Effect.fork(system.ask("/t/sup/w", "slow job"));
        yield* waitFor(events, (es) => count(es, "agent.task", "/t/sup/w") === 1);
        yield* system.killAgent("/t/sup/w", "fault drill");
        expect((yield* Fiber.join(asked)).output).toBe("finally");
        expect(events.find((e) => e.type === "agent.failed")).toMatchObject({
          address: "/t/sup/w",
          reason: "fault drill",
        });
        expect(count(events, "agent.replied", "/t/sup/w")).toBe(1);
      }),
    );
  });
});

describe("kinds and limits at runtime", () => {
  it("a micro agent cannot spawn, a child cannot spawn a parent, and child-count limits hold", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        yield* system.spawnTree({
          ...tree("one_for_one", [{ name: "c", kind: "child" }, crashy("m")]),
          limits: { maxChildren: 2 },
        });
        const cell = (address: string) => system.router.resolve(address) as AgentCell;
        const micro = yield* Effect.flip(
          agentOps(cell("/t/sup/m")).spawn({ name: "x", kind: "micro", handler: "echo" }),
        );
        expect(micro).toBeInstanceOf(NotAllowed);
        expect(micro.message).toMatch(/micro agent cannot spawn/);
        const parentBelowChild = yield* Effect.flip(
          agentOps(cell("/t/sup/c")).spawn({ name: "p", kind: "parent" }),
        );
        expect(parentBelowChild.message).toMatch(/child agent cannot have a parent/);
        const full = yield* Effect.flip(
          agentOps(cell("/t/sup")).spawn({ name: "third", kind: "micro", handler: "echo" }),
        );
        expect(full.message).toMatch(/limits.maxChildren 2/);
        const ok = yield* agentOps(cell("/t/sup/c")).spawn({
          name: "helper",
          kind: "micro",
          handler: "upper",
        });
        expect(ok.address).toBe("/t/sup/c/helper");
        expect((yield* system.ask(ok.id, "hi")).output).toBe("HI");
        expect(Either.isRight(Either.right(ok))).toBe(true);
      }),
    );
  });
});
