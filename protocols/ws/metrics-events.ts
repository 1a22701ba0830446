/**
 * The `/metrics` series fed by the runtime's event stream: provider calls, tokens, cost and latency
 * by provider/model/outcome, circuit state, keys cooling down, cache hits, budget use per tenant,
 * mailbox drops, restarts and escalations, and agent steps with their latency per agent kind.
 *
 * Cardinality is bounded by configuration, never by traffic: providers and models come from the
 * provider config, tenants from the server's tokens, kinds and outcomes are fixed sets. Trees,
 * addresses, request ids and tool names are never labels.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AgentKind, ArborEvent } from "../../runtime/events.ts";

/** Seconds: model calls are slow, steps slower. */
const latencyBuckets = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const circuitLevel = { "circuit.closed": 0, "circuit.half_open": 1, "circuit.opened": 2 } as const;

/** The event-fed series registered on `registry`; `observe` takes every event, `now` reads the clock. */
export interface EventMetrics {
  readonly observe: (event: ArborEvent) => void;
}

/** Registers the event-fed series on `registry`. */
export const makeEventMetrics = (registry: Registry, now: () => number): EventMetrics => {
  const registers = [registry];
  const calls = new Counter({
    name: "arbor_provider_calls_total",
    help: "Model provider calls (cache hits included), by provider, model and outcome.",
    labelNames: ["provider", "model", "outcome"] as const,
    registers,
  });
  const tokens = new Counter({
    name: "arbor_provider_tokens_total",
    help: "Model tokens, by provider, model and direction (input|output).",
    labelNames: ["provider", "model", "direction"] as const,
    registers,
  });
  const cost = new Counter({
    name: "arbor_provider_cost_usd_total",
    help: "Model spend in US dollars, by provider and model.",
    labelNames: ["provider", "model"] as const,
    registers,
  });
  const latency = new Histogram({
    name: "arbor_provider_call_duration_seconds",
    help: "Model call latency, by provider, model and outcome.",
    labelNames: ["provider", "model", "outcome"] as const,
    buckets: latencyBuckets,
    registers,
  });
  const cacheHits = new Counter({
    name: "arbor_provider_cache_hits_total",
    help: "Model calls answered by the response cache, by provider and model.",
    labelNames: ["provider", "model"] as const,
    registers,
  });
  const retries = new Counter({
    name: "arbor_provider_retries_total",
    help: "Provider attempts tried again, by provider and model.",
    labelNames: ["provider", "model"] as const,
    registers,
  });
  const fallbacks = new Counter({
    name: "arbor_provider_fallbacks_total",
    help: "Calls that fell back to the next provider in the chain.",
    registers,
  });
  const circuit = new Gauge({
    name: "arbor_provider_circuit_state",
    help: "Circuit breaker state per provider and model: 0 closed, 1 half-open, 2 open.",
    labelNames: ["provider", "model"] as const,
    registers,
  });
  /** provider → key fingerprint → cooling until (epoch ms). Bounded by the configured keys. */
  const cooling = new Map<string, Map<string, number>>();
  new Gauge({
    name: "arbor_provider_keys_cooling",
    help: "API keys cooling down (rate limited or failing), by provider.",
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const [provider, keys] of cooling) {
        let count = 0;
        for (const until of keys.values()) if (until > at) count++;
        this.set({ provider }, count);
      }
    },
  });
  const budgetTokens = new Counter({
    name: "arbor_budget_tokens_total",
    help: "Tokens charged to each tenant's budget (the operator's as tenant=operator).",
    labelNames: ["tenant"] as const,
    registers,
  });
  const budgetCost = new Counter({
    name: "arbor_budget_cost_usd_total",
    help: "Spend charged to each tenant's budget, in US dollars.",
    labelNames: ["tenant"] as const,
    registers,
  });
  const budgetExceeded = new Counter({
    name: "arbor_budget_exceeded_total",
    help: "Calls refused for an exhausted budget, by scope (tree|tenant).",
    labelNames: ["scope"] as const,
    registers,
  });
  const drops = new Counter({
    name: "arbor_mailbox_drops_total",
    help: "Messages dropped or refused by full mailboxes, by overflow policy.",
    labelNames: ["policy"] as const,
    registers,
  });
  const restarts = new Counter({
    name: "arbor_agent_restarts_total",
    help: "Agent restarts made by supervisors, by strategy.",
    labelNames: ["strategy"] as const,
    registers,
  });
  const escalations = new Counter({
    name: "arbor_agent_escalations_total",
    help: "Supervisors that gave up (restart intensity exceeded) and escalated.",
    registers,
  });
  const steps = new Counter({
    name: "arbor_agent_steps_total",
    help: "Agent steps (tasks answered), by agent kind and outcome (ok|failed|cancelled).",
    labelNames: ["kind", "outcome"] as const,
    registers,
  });
  const stepLatency = new Histogram({
    name: "arbor_agent_step_duration_seconds",
    help: "Agent step latency from task start to answer, by agent kind and outcome.",
    labelNames: ["kind", "outcome"] as const,
    buckets: latencyBuckets,
    registers,
  });
  const tools = new Counter({
    name: "arbor_tool_calls_total",
    help: "Tool calls, by outcome (ok|error).",
    labelNames: ["outcome"] as const,
    registers,
  });
  const tripwires = new Counter({
    name: "arbor_tripwires_triggered_total",
    help: "Tripwires triggered, by action (warn|halt|stop-tree).",
    labelNames: ["action"] as const,
    registers,
  });

  /** Agent id → kind, while the agent lives; agent id → request id → task start. */
  const kinds = new Map<string, AgentKind>();
  const started = new Map<string, Map<string, number>>();
  const stepEnded = (
    agentId: string,
    requestId: string,
    outcome: "ok" | "failed" | "cancelled",
    at: number,
  ) => {
    const tasks = started.get(agentId);
    const start = tasks?.get(requestId);
    if (start === undefined) return;
    tasks!.delete(requestId);
    const labels = { kind: kinds.get(agentId) ?? "unknown", outcome };
    steps.inc(labels);
    stepLatency.observe(labels, Math.max(0, at - start) / 1000);
  };

  // Fixed label sets start at zero, so every series is on the first scrape.
  for (const policy of ["drop-newest", "fail"]) drops.inc({ policy }, 0);
  for (const strategy of ["one_for_one", "one_for_all", "rest_for_one"]) restarts.inc({ strategy }, 0);
  for (const outcome of ["ok", "error"]) tools.inc({ outcome }, 0);
  for (const action of ["warn", "halt", "stop-tree"]) tripwires.inc({ action }, 0);
  for (const scope of ["tree", "tenant"]) budgetExceeded.inc({ scope }, 0);
  /** The provider/model pairs seen: their other series start at zero (circuit closed, no hits). */
  const seen = new Set<string>();
  const firstSeen = (provider: string, model: string) => {
    const pair = `${provider}\u0000${model}`;
    if (seen.has(pair)) return;
    seen.add(pair);
    const labels = { provider, model };
    circuit.set(labels, 0);
    cacheHits.inc(labels, 0);
    retries.inc(labels, 0);
    cost.inc(labels, 0);
    if (!cooling.has(provider)) cooling.set(provider, new Map());
  };

  const observe = (event: ArborEvent): void => {
    switch (event.type) {
      case "provider.call": {
        const { provider, model } = event;
        firstSeen(provider, model);
        calls.inc({ provider, model, outcome: event.outcome });
        latency.observe({ provider, model, outcome: event.outcome }, event.latencyMs / 1000);
        if (event.inputTokens > 0) tokens.inc({ provider, model, direction: "input" }, event.inputTokens);
        if (event.outputTokens > 0) tokens.inc({ provider, model, direction: "output" }, event.outputTokens);
        if (event.costUsd !== undefined && event.costUsd > 0) cost.inc({ provider, model }, event.costUsd);
        if (event.cached) cacheHits.inc({ provider, model });
        const tenant = event.tenant ?? "operator";
        const used = event.inputTokens + event.outputTokens;
        budgetTokens.inc({ tenant }, used);
        budgetCost.inc({ tenant }, event.costUsd ?? 0);
        return;
      }
      case "provider.retry":
        retries.inc({ provider: event.provider, model: event.model });
        return;
      case "provider.fallback":
        fallbacks.inc();
        return;
      case "circuit.opened":
      case "circuit.half_open":
      case "circuit.closed":
        circuit.set({ provider: event.provider, model: event.model }, circuitLevel[event.type]);
        return;
      case "key.cooldown": {
        const keys = cooling.get(event.provider) ?? new Map<string, number>();
        cooling.set(event.provider, keys);
        keys.set(event.key, event.untilMs);
        return;
      }
      case "budget.exceeded":
        budgetExceeded.inc({ scope: event.scope });
        return;
      case "message.dropped":
        drops.inc({ policy: event.policy });
        return;
      case "agent.restarted":
        restarts.inc({ strategy: event.strategy });
        return;
      case "agent.escalated":
        escalations.inc();
        return;
      case "tripwire.triggered":
        tripwires.inc({ action: event.action });
        return;
      case "tool.result":
        tools.inc({ outcome: event.ok ? "ok" : "error" });
        return;
      case "agent.spawned":
        kinds.set(event.id, event.kind);
        return;
      case "agent.stopped":
        kinds.delete(event.id);
        started.delete(event.id);
        return;
      case "agent.task": {
        const tasks = started.get(event.id) ?? new Map<string, number>();
        started.set(event.id, tasks);
        tasks.set(event.requestId, event.time);
        return;
      }
      case "agent.replied":
        stepEnded(event.id, event.requestId, "ok", event.time);
        return;
      case "agent.request_failed":
        stepEnded(event.id, event.requestId, "failed", event.time);
        return;
      case "agent.cancelled":
        stepEnded(event.id, event.requestId, "cancelled", event.time);
        return;
      default:
        return;
    }
  };
  return { observe };
};
