/**
 * Test wiring: a hub and the economic router over real drivers, a real event bus, an in-memory
 * ledger, and a collected event list. Programs run under Effect's TestContext (TestClock).
 */
import { Effect, Either, TestContext } from "effect";
import { afterEach } from "vitest";
import type { Env } from "../../plugins/providers/config.ts";
import { makeProviderHub, type ProviderHub } from "../../plugins/providers/hub.ts";
import { makeMemoryLedger, type UsageLedger } from "../../plugins/providers/ledger.ts";
import { settleOnAgentEvents } from "../../plugins/providers/response-cache.ts";
import { makeEconomicRouter } from "../../plugins/providers/router.ts";
import { type ArborEvent, makeEventBus } from "../../runtime/events.ts";
import type { CallContext, ModelProvider, ModelRouter, ProviderLookup } from "../../runtime/model.ts";
import { startWireServer, type WireServer } from "./wire-server.ts";

/** Who calls, in every test. */
export const ctx: CallContext = { tree: "t1", address: "/t1/root", agentId: "agent-1", tenant: "acme" };

/** A wired router. */
export interface Rig {
  readonly router: ModelRouter;
  readonly hub: ProviderHub;
  readonly ledger: UsageLedger;
  readonly events: Array<ArborEvent>;
}

/** A lookup over extra providers (e.g. a scripted one registered by another plugin). */
export const lookupOf = (providers: ReadonlyArray<ModelProvider> = []): ProviderLookup => ({
  get: (name) => providers.find((p) => p.name === name),
  names: () => providers.map((p) => p.name),
});

/**
 * Builds a rig; the bus stamps events with a fixed clock (event times are not under test here).
 * Each candidate gets one attempt (`routing.retries: 0`) unless the config asks for retries, so
 * tests of a single failure see it at once; tests/providers/retries.test.ts covers retries.
 */
export const makeRig = (
  config: Record<string, unknown>,
  env: Env,
  extra: ReadonlyArray<ModelProvider> = [],
): Rig => {
  const events: Array<ArborEvent> = [];
  const bus = Effect.runSync(makeEventBus(() => 0));
  bus.listen((e) => events.push(e));
  const ledger = makeMemoryLedger();
  const routing = { retries: 0, ...(config.routing as Record<string, unknown> | undefined) };
  const made = makeProviderHub({ config: { ...config, routing }, env, ledger, events: bus });
  if (Either.isLeft(made)) throw new Error(made.left.message);
  const hub = made.right;
  settleOnAgentEvents(bus, () => hub.state().cache);
  return { router: makeEconomicRouter(made.right)(lookupOf(extra)), hub: made.right, ledger, events };
};

/** What the runtime publishes when the agent of `ctx` replies: held cache entries are stored. */
export const replied = (rig: Rig) =>
  rig.hub.events.publish({
    type: "agent.replied",
    tree: ctx.tree,
    address: ctx.address,
    id: ctx.agentId,
    requestId: "r1",
    output: "",
  });

/** Runs a program under TestContext (TestClock starts at 0). */
export const run = <A, E>(program: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.provide(TestContext.TestContext)));

/** Runs a program and returns its failure (or throws if it succeeded). */
export const runFailure = <A, E>(program: Effect.Effect<A, E>): Promise<E> => run(Effect.flip(program));

/** A simple user prompt with a system message. */
export const prompt = (text: string) => ({
  messages: [
    { role: "system" as const, content: "You are terse." },
    { role: "user" as const, content: text },
  ],
  context: ctx,
});

/** Starts wire servers for one test file and closes them all after each test. */
export const useServers = () => {
  const open: Array<WireServer> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return async (answer: Parameters<typeof startWireServer>[0]): Promise<WireServer> => {
    const s = await startWireServer(answer);
    open.push(s);
    return s;
  };
};
