import { Cause, Effect, Exit, Fiber, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { providersPlugin } from "../../plugins/providers/plugin.ts";
import { toolsPlugin } from "../../plugins/tools/plugin.ts";
import { makeAgentSystem } from "../../runtime/agent-system.ts";
import { AgentFailed, Cancelled, NotFound, Timeout } from "../../runtime/errors.ts";
import type { AgentSystemService, AskError, Reply } from "../../runtime/system.ts";
import { useServers } from "../providers/harness.ts";
import { openaiCompletion } from "../providers/wire-server.ts";
import { count, makeTestSystem, run, waitFor } from "./support.ts";

const serve = useServers();

const completion = (content: string) => openaiCompletion(content);

const scriptedWorker = (script: unknown[]) => ({
  name: "c",
  root: { name: "w", kind: "child", model: { provider: "scripted", script } },
});

describe("a deadline interrupts the step", () => {
  it("50 ms on a provider that does not answer: Timeout (fault user), the request's connection is closed, the next ask is answered", async () => {
    const server = await serve((req) =>
      JSON.stringify(req.body).includes("take your time")
        ? { hang: true }
        : { json: completion("the next answer") },
    );
    const plugin = providersPlugin({
      env: { OPENAI_API_KEY: "sk-cancel-test-0000KEY1", OPENAI_BASE_URL: `${server.url}/v1` },
    });
    // On TestClock the 50 ms pass once the request has reached the provider, however loaded the machine.
    const program = Effect.gen(function* () {
      const system = yield* makeAgentSystem({ plugins: [plugin] });
      const tree = yield* system.spawnTree({
        name: "slow",
        root: { name: "w", kind: "child", model: { provider: "openai", model: "gpt-4o-mini" } },
      });
      const asked = yield* Effect.fork(system.ask(tree.root, "take your time", { timeoutMs: 50 }));
      yield* Effect.promise(() => server.whenReceived(0));
      yield* TestClock.adjust(50);
      const failure = yield* Effect.flip(Fiber.join(asked));
      yield* Effect.promise(() => server.whenAborted(0));
      const next = yield* system.ask(tree.root, "and now?");
      return { failure, next };
    });
    const { failure, next } = await Effect.runPromise(
      Effect.scoped(program).pipe(Effect.provide(TestContext.TestContext)),
    );
    expect(failure).toBeInstanceOf(Timeout);
    expect(failure.fault).toBe("user");
    expect(server.aborted).toEqual([0]);
    expect(next.output).toBe("the next answer");
    expect(server.requests).toHaveLength(2);
  });
});

describe("the send_to_agent tool's deadline", () => {
  it("interrupts the target's step too: the target answers its next ask at once", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem([toolsPlugin]);
        yield* system.spawnTree({
          name: "tool",
          root: {
            name: "boss",
            kind: "parent",
            tools: { allow: ["send_to_agent"] },
            model: {
              provider: "scripted",
              script: [
                {
                  toolCalls: [
                    {
                      name: "send_to_agent",
                      args: { to: "slow", message: "go", await: true, timeoutMs: 50 },
                    },
                  ],
                },
                { text: "tool said: {{tool}}" },
              ],
            },
            children: [
              {
                name: "slow",
                kind: "child",
                model: {
                  provider: "scripted",
                  script: [{ delayMs: 60_000, text: "late" }, { text: "quick" }],
                },
              },
            ],
          },
        });
        const reply = yield* system.ask("/tool/boss", "delegate");
        expect(reply.output).toMatch(/tool said: .*within 50 ms/);
        expect(count(events, "agent.cancelled", "/tool/boss/slow")).toBe(1);
        expect((yield* system.ask("/tool/boss/slow", "again")).output).toBe("quick");
      }),
    );
  });
});

describe("agent.cancel", () => {
  it("the asker gets Cancelled, the step is interrupted and the agent takes its next task", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          scriptedWorker([{ delayMs: 60_000, text: "too late" }, { text: "next: {{input}}" }]),
        );
        const asked = yield* Effect.fork(system.ask("/c/w", "slow one", { requestId: "job-1" }));
        yield* waitFor(events, (es) => count(es, "agent.task", "/c/w") === 1);
        expect(yield* system.cancel("/c/w", "job-1")).toEqual({ cancelled: true });
        const failure = yield* Effect.flip(Fiber.join(asked));
        expect(failure).toBeInstanceOf(Cancelled);
        expect(failure).toMatchObject({ requestId: "job-1", fault: "user" });
        expect(events.find((e) => e.type === "agent.cancelled")).toMatchObject({ requestId: "job-1" });
        expect((yield* system.ask("/c/w", "quick one")).output).toBe("next: quick one");
        expect(yield* system.cancel("/c/w", "job-1")).toEqual({ cancelled: false });
      }),
    );
  });

  it("a queued ask can be cancelled before it starts; the one in flight goes on", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        // Long enough that the first ask is still in flight when the cancel arrives, even when a
        // busy machine delays this test's polling by a few hundred milliseconds.
        yield* system.spawnTree(scriptedWorker([{ delayMs: 1_000, text: "did {{input}}" }]));
        const first = yield* Effect.fork(system.ask("/c/w", "first"));
        const second = yield* Effect.fork(system.ask("/c/w", "second", { requestId: "queued" }));
        yield* waitFor(events, (es) => count(es, "agent.task", "/c/w") === 1);
        expect(yield* system.cancel("/c/w", "queued")).toEqual({ cancelled: true });
        expect((yield* Fiber.join(first)).output).toBe("did first");
        expect(yield* Effect.flip(Fiber.join(second))).toBeInstanceOf(Cancelled);
        expect(count(events, "agent.task", "/c/w")).toBe(1);
      }),
    );
  });
});

describe("askWith, the callback ask", () => {
  /** Asks through `askWith`: the exit `done` got, and whether `done` ran before `askWith` returned. */
  const askBack = (system: AgentSystemService, to: string, input: string) =>
    Effect.async<{ readonly exit: Exit.Exit<Reply, AskError>; readonly sync: boolean }>((resume) => {
      let returned = false;
      system.askWith(to, input, (exit) => resume(Effect.succeed({ exit, sync: !returned })));
      returned = true;
    });

  it("answers once, never before it returns: a model agent, an inline handler micro agent, an unknown address", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        yield* system.spawnTree(scriptedWorker([{ text: "did {{input}}" }]));
        yield* system.spawnTree({ name: "m", root: { name: "u", kind: "micro", handler: "upper" } });
        const model = yield* askBack(system, "/c/w", "it");
        const micro = yield* askBack(system, "/m/u", "hi");
        const nobody = yield* askBack(system, "/nobody/here", "hi");
        expect(model).toMatchObject({ sync: false, exit: { _tag: "Success", value: { output: "did it" } } });
        expect(micro).toMatchObject({ sync: false, exit: { _tag: "Success", value: { output: "HI" } } });
        expect(nobody.sync).toBe(false);
        expect(Exit.isFailure(nobody.exit) && Cause.squash(nobody.exit.cause)).toBeInstanceOf(NotFound);
      }),
    );
  });

  it("withdrawn, the step is interrupted, done is not called, and the agent takes its next task", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(
          scriptedWorker([{ delayMs: 60_000, text: "too late" }, { text: "next: {{input}}" }]),
        );
        let answered = false;
        const withdraw = system.askWith("/c/w", "slow one", () => {
          answered = true;
        });
        yield* waitFor(events, (es) => count(es, "agent.task", "/c/w") === 1);
        withdraw();
        expect((yield* system.ask("/c/w", "quick one")).output).toBe("next: quick one");
        expect(events.filter((e) => e.type === "agent.cancelled")).toHaveLength(1);
        expect(answered).toBe(false);
      }),
    );
  });
});

describe("faults", () => {
  it("an agent that keeps crashing on model output fails its asker with fault model", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "c",
          root: {
            name: "sup",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "ok" }] },
            supervision: { maxRestarts: 10, backoff: { minMs: 1, maxMs: 2 } },
            children: [
              {
                name: "w",
                kind: "child",
                model: { provider: "scripted", script: [{ crash: "unparseable output" }] },
              },
            ],
          },
        });
        const failure = yield* Effect.flip(system.ask("/c/sup/w", "go"));
        expect(failure).toBeInstanceOf(AgentFailed);
        expect(failure.fault).toBe("model");
        expect(failure.message).toMatch(/unparseable output/);
      }),
    );
  });
});

describe("a delegated ask", () => {
  const team = {
    name: "d",
    root: {
      name: "lead",
      kind: "parent",
      model: { provider: "scripted", script: [{ text: "lead: {{input}}" }] },
      children: [
        {
          name: "slow",
          kind: "child",
          model: { provider: "scripted", script: [{ delayMs: 60_000, text: "too late" }, { text: "fast" }] },
        },
        { name: "m", kind: "micro", handler: "echo" },
      ],
    },
  };

  it("interrupted while a child works: the child's task is withdrawn and its step interrupted; the next ask is answered", async () => {
    await run(
      Effect.gen(function* () {
        const { system, events } = yield* makeTestSystem();
        yield* system.spawnTree(team);
        const asked = yield* Effect.fork(system.ask("/d/lead", "first"));
        yield* waitFor(events, (es) => count(es, "agent.task", "/d/lead/slow") === 1);
        yield* Fiber.interrupt(asked);
        yield* waitFor(events, (es) => count(es, "agent.cancelled", "/d/lead/slow") === 1);
        const reply = yield* system.ask("/d/lead", "second");
        expect(reply.output).toContain("lead: second");
        expect(reply.output).toContain("[slow] fast");
        expect(reply.output).toContain("[m] second");
      }),
    );
  });

  it("answered at once by its team (a handler micro and a zero-latency model) replies with every member's answer", async () => {
    await run(
      Effect.gen(function* () {
        const { system } = yield* makeTestSystem();
        yield* system.spawnTree({
          name: "q",
          root: {
            name: "lead",
            kind: "parent",
            model: { provider: "scripted", script: [{ text: "lead: {{input}}" }] },
            children: [
              {
                name: "c",
                kind: "child",
                model: { provider: "scripted", script: [{ text: "child saw {{input}}" }] },
                children: [{ name: "m", kind: "micro", handler: "upper" }],
              },
            ],
          },
        });
        for (const input of ["one", "two"]) {
          const reply = yield* system.ask("/q/lead", input);
          expect(reply.output).toContain(`lead: ${input}`);
          expect(reply.output).toContain(`[c] child saw ${input}`);
          expect(reply.output).toContain(`[m] ${input.toUpperCase()}`);
        }
      }),
    );
  });
});
