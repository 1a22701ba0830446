/**
 * What the inspector learns from the event stream: a bounded log of recent events, per agent
 * the task in hand (since when), the text it is writing (streamed asks), tokens and cost spent,
 * restarts seen and recent tool calls, and the tool calls waiting for a person's approval.
 * Plain data with a change counter; views re-render when it moves.
 */

/** How many events the log keeps; older ones fall off the end. */
export const maxEvents = 500;
const maxToolCalls = 20;

export const makeStore = () => {
  const listeners = new Set();
  const state = { events: [], agents: new Map(), spend: new Map(), approvals: new Map(), version: 0 };
  const agent = (address) => {
    let a = state.agents.get(address);
    if (a === undefined) {
      a = {
        task: undefined,
        since: undefined,
        writing: "",
        tokens: 0,
        costUsd: 0,
        tools: [],
        restartedAt: 0,
      };
      state.agents.set(address, a);
    }
    return a;
  };
  const apply = (event) => {
    const a = event.address ? agent(event.address) : undefined;
    switch (event.type) {
      case "agent.task":
        a.task = event.input;
        a.since = event.time;
        a.writing = "";
        break;
      case "agent.delta":
        a.writing += event.text;
        break;
      case "agent.replied":
      case "agent.request_failed":
        a.task = undefined;
        a.since = undefined;
        a.writing = "";
        break;
      case "approval.requested":
        state.approvals.set(event.approvalId, {
          approvalId: event.approvalId,
          tree: event.tree,
          address: event.address,
          tool: event.tool,
          args: event.args,
          expiresAt: event.expiresAt,
        });
        break;
      case "approval.decided":
        state.approvals.delete(event.approvalId);
        break;
      case "agent.restarted":
        a.restartedAt = Date.now();
        break;
      case "provider.call": {
        a.tokens += event.inputTokens + event.outputTokens;
        a.costUsd += event.costUsd ?? 0;
        const key = event.model ? `${event.provider}/${event.model}` : event.provider;
        const before = state.spend.get(key) ?? { costUsd: 0, tokens: 0 };
        state.spend.set(key, {
          costUsd: before.costUsd + (event.costUsd ?? 0),
          tokens: before.tokens + event.inputTokens + event.outputTokens,
        });
        break;
      }
      case "tool.called":
        a.tools = [
          { callId: event.callId, tool: event.tool, args: event.args, time: event.time },
          ...a.tools,
        ].slice(0, maxToolCalls);
        break;
      case "tool.result":
        a.tools = a.tools.map((call) =>
          call.callId === event.callId
            ? { ...call, ok: event.ok, result: event.result ?? event.reason }
            : call,
        );
        break;
      default:
    }
  };
  return {
    state,
    /** Records one event; the log keeps the newest first. */
    add(event) {
      state.events = [event, ...state.events].slice(0, maxEvents);
      apply(event);
      state.version++;
      for (const listener of listeners) listener();
    },
    /** Seeds the pending approvals from `approval.list` (those requested before the page opened). */
    seedApprovals(approvals) {
      for (const a of approvals) if (!state.approvals.has(a.approvalId)) state.approvals.set(a.approvalId, a);
      state.version++;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};
