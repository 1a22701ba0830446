import { Effect, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { MailboxFull } from "../../runtime/errors.ts";
import { count, makeTestSystem } from "./support.ts";

const settle = Effect.promise(() => new Promise((resolve) => setImmediate(resolve)));

/** A worker busy for 1 s (on the test clock) per task, with a mailbox of 2. */
const spec = (overflow: string) => ({
  name: "mb",
  root: {
    name: "root",
    kind: "parent",
    model: { provider: "scripted", script: [{ text: "ok" }] },
    children: [
      {
        name: "w",
        kind: "child",
        mailbox: { capacity: 2, overflow },
        model: { provider: "scripted", script: [{ delayMs: 1000, text: "did {{input}}" }] },
      },
    ],
  },
});

const onTestClock = <A, E>(program: Effect.Effect<A, E, import("effect").Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(TestContext.TestContext)));

describe("mailbox overflow policies", () => {
  it("drop-newest: the extra message is dropped, counted and evented; an ask is refused with a typed error", async () => {
    await onTestClock(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(spec("drop-newest"));
        for (const m of ["1", "2", "3", "4"]) yield* system.send("/mb/root/w", m); // 1 in flight, 2-3 queued, 4 dropped
        const refused = yield* Effect.flip(system.ask("/mb/root/w", "5"));
        expect(refused).toBeInstanceOf(MailboxFull);
        expect(refused).toMatchObject({ policy: "drop-newest", capacity: 2, address: "/mb/root/w" });
        expect(count(events, "message.dropped", "/mb/root/w")).toBe(2);
        expect((yield* system.stats()).messagesDropped).toBe(2);
        expect((yield* system.inspect("mb")).children[0]!.mailbox).toEqual({
          size: 2,
          capacity: 2,
          dropped: 2,
        });
        yield* TestClock.adjust(3000);
        yield* settle;
        expect(
          events.filter((e) => e.type === "agent.replied").map((e) => (e as { output: string }).output),
        ).toEqual(["did 1", "did 2", "did 3"]);
      }),
    );
  });

  it("fail: the sender gets MailboxFull and the refusal is evented", async () => {
    await onTestClock(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(spec("fail"));
        for (const m of ["1", "2", "3"]) yield* system.send("/mb/root/w", m);
        const refused = yield* Effect.flip(system.send("/mb/root/w", "4"));
        expect(refused).toMatchObject({ _tag: "MailboxFull", policy: "fail" });
        expect(refused.message).toMatch(/mailbox of \/mb\/root\/w is full \(capacity 2, overflow fail\)/);
        expect(events.find((e) => e.type === "message.dropped")).toMatchObject({
          policy: "fail",
          capacity: 2,
        });
      }),
    );
  });

  it("backpressure: the sender waits for space, and every message is processed in order", async () => {
    await onTestClock(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(spec("backpressure"));
        for (const m of ["1", "2", "3"]) yield* system.send("/mb/root/w", m);
        const waiting = yield* Effect.fork(system.send("/mb/root/w", "4"));
        yield* settle;
        expect(waiting.unsafePoll()).toBeNull(); // still waiting for space
        yield* TestClock.adjust(1000);
        yield* settle;
        yield* Fiber.join(waiting);
        yield* TestClock.adjust(3000);
        yield* settle;
        expect(
          events.filter((e) => e.type === "agent.replied").map((e) => (e as { output: string }).output),
        ).toEqual(["did 1", "did 2", "did 3", "did 4"]);
        expect(count(events, "message.dropped")).toBe(0);
      }),
    );
  });
});
