/**
 * `createArbor`'s `send` and `ask`, which skip the Effect runtime when the router can answer at once
 * (a handler micro agent): the same deliveries, replies and typed failures as the runtime's own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Arbor, createArbor, MailboxFull, NotFound } from "../../index.ts";

let arbor: Arbor | undefined;
afterEach(async () => {
  await arbor?.close();
  arbor = undefined;
});

/** A runtime with a `tally` handler that counts the messages it gets and answers with the count. */
const withTally = () =>
  createArbor({
    plugins: [
      {
        name: "tally",
        version: "1.0.0",
        setup: async (host) => {
          await host.handler("tally", {
            initial: () => 0,
            handle: (n: number, m: string) => [n + 1, `${m} #${n + 1}`],
          });
        },
      },
    ],
  });

describe("createArbor send and ask to a handler micro agent", () => {
  it("send delivers in order and ask answers after them, from the same agent state", async () => {
    arbor = await withTally();
    const { root } = await arbor.spawn({ name: "t", root: { name: "m", kind: "micro", handler: "tally" } });
    await Promise.all(["a", "b", "c"].map((m) => arbor!.send(root, m)));
    expect((await arbor.ask(root, "d")).output).toBe("d #4");
    expect((await arbor.ask(root, "e", { timeoutMs: 5_000 })).output).toBe("e #5");
  });

  it("send and ask to an address nobody has reject with NotFound, as the runtime's do", async () => {
    arbor = await createArbor();
    await arbor.spawn({ name: "t", root: { name: "m", kind: "micro", handler: "echo" } });
    await expect(arbor.send("/t/nobody", "x")).rejects.toBeInstanceOf(NotFound);
    await expect(arbor.ask("/t/nobody", "x")).rejects.toMatchObject({
      _tag: "NotFound",
      reason: "agent_not_found",
      target: "/t/nobody",
    });
  });
});

describe("createArbor send to a busy model agent", () => {
  it("a full mailbox with the fail policy refuses the extra message with MailboxFull", async () => {
    arbor = await createArbor();
    const { treeId, root } = await arbor.spawn({
      name: "busy",
      root: {
        name: "w",
        kind: "child",
        mailbox: { capacity: 1, overflow: "fail" },
        model: { provider: "scripted", script: [{ text: "late", delayMs: 600_000 }] },
      },
    });
    await arbor.send(root, "in flight");
    await arbor.send(root, "queued");
    await expect(arbor.send(root, "one too many")).rejects.toBeInstanceOf(MailboxFull);
    expect((await arbor.inspect(treeId)).mailbox).toMatchObject({ size: 1, capacity: 1, dropped: 1 });
  });
});
