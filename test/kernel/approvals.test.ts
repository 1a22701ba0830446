/**
 * The approvals store as a port a durable store can drive: entries are plain data that survive a
 * JSON round trip; restored entries are found again by the same deterministic id, so a step that
 * runs again gets its earlier decision (or keeps waiting for the pending one) instead of asking twice.
 */
import { Effect, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { type ApprovalRequest, approvalIdOf, makeApprovals } from "../../runtime/approvals.ts";
import { type ArborEvent, makeEventBus } from "../../runtime/events.ts";

const request: ApprovalRequest = {
  tenant: "acme",
  tree: "t",
  address: "/t/writer",
  agentId: "ag_1",
  tool: "write_file",
  args: { path: "a.txt", content: "hi" },
  displayArgs: { path: "a.txt", content: "hi" },
  requestId: "rq_7",
  callIndex: 0,
};
const anyArgs = (args: unknown) => Effect.succeed(args);

const setup = Effect.gen(function* () {
  const events = yield* makeEventBus(() => 0);
  const seen: ArborEvent[] = [];
  events.listen((e) => seen.push(e));
  return { events, seen };
});

describe("the approvals store", () => {
  it("restores persisted entries: a decided one answers the re-run step at once, without a new request", async () => {
    const { first, restoredDecision, requestedAgain } = await Effect.runPromise(
      Effect.gen(function* () {
        const { events, seen } = yield* setup;
        const before = makeApprovals({ events, now: () => 1_000 });
        const waiting = yield* Effect.fork(before.await(request, anyArgs));
        yield* Effect.yieldNow();
        const id = approvalIdOf("t", "/t/writer", "rq_7", 0);
        yield* before.decide(id, { decision: "approve" }, "operator");
        const first = yield* Fiber.join(waiting);
        // What a durable store writes and reads back.
        const persisted = JSON.parse(JSON.stringify(before.entries()));
        const after = makeApprovals({ events, now: () => 2_000 });
        after.restore(persisted);
        const requestedBefore = seen.filter((e) => e.type === "approval.requested").length;
        const restoredDecision = yield* after.await(request, anyArgs);
        const requestedAgain = seen.filter((e) => e.type === "approval.requested").length - requestedBefore;
        return { first, restoredDecision, requestedAgain };
      }),
    );
    expect(first).toMatchObject({ decision: "approve", by: "operator" });
    expect(restoredDecision).toEqual(first);
    expect(requestedAgain).toBe(0);
  });

  it("a restored pending entry waits again, can be decided, and keeps its original expiry", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const { events } = yield* setup;
        const before = makeApprovals({ events, now: () => 0, timeoutMs: 60_000 });
        const interrupted = yield* Effect.fork(before.await(request, anyArgs));
        yield* Effect.yieldNow();
        yield* Fiber.interrupt(interrupted); // the process went down mid-wait
        const persisted = JSON.parse(JSON.stringify(before.entries()));
        const after = makeApprovals({ events, now: () => 10_000, timeoutMs: 60_000 });
        after.restore(persisted);
        expect(after.list().map((e) => e.expiresAt)).toEqual([60_000]);
        expect(after.list({ tenant: "other" })).toEqual([]);
        const waiting = yield* Effect.fork(after.await(request, anyArgs));
        yield* Effect.yieldNow();
        yield* after.decide(persisted[0].approvalId, { decision: "deny", reason: "no" }, "acme", {
          tenant: "acme",
        });
        return yield* Fiber.join(waiting);
      }),
    );
    expect(result).toMatchObject({ decision: "deny", reason: "no", by: "acme" });
  });

  it("denies at expiry on Effect's clock", async () => {
    const decision = await Effect.runPromise(
      Effect.gen(function* () {
        const { events } = yield* setup;
        const approvals = makeApprovals({ events, now: () => 0, timeoutMs: 5_000 });
        const waiting = yield* Effect.fork(approvals.await(request, anyArgs));
        yield* TestClock.adjust("5 seconds");
        return yield* Fiber.join(waiting);
      }).pipe(Effect.provide(TestContext.TestContext)),
    );
    expect(decision).toMatchObject({ decision: "deny", by: "timeout" });
  });
});
