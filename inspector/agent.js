/**
 * One agent up close: what it is doing and since when, tokens and cost it spent, the tools it may
 * call and its recent tool calls with their results; ask it something, stop it or kill it (a kill is
 * a crash: its supervisor restarts it).
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, duration, html } from "./html.js";

const short = (value) => {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? "" : text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

export const AgentPanel = ({ rpc, store, address, onClose }) => {
  const [tools, setTools] = useState(undefined);
  const [input, setInput] = useState("");
  const [thread, setThread] = useState("");
  const [history, setHistory] = useState(undefined);
  const [answer, setAnswer] = useState("");
  const [error, setError] = useState("");
  const [, setVersion] = useState(0);

  useEffect(() => {
    setTools(undefined);
    setHistory(undefined);
    setAnswer("");
    setError("");
    rpc.call("tools.list", { agent: address }).then(
      (r) => setTools(r.tools.map((t) => t.name)),
      () => setTools(null),
    );
    return store.subscribe(() => setVersion(store.state.version));
  }, [rpc, address]);

  const stats = store.state.agents.get(address);
  const act = (method, params) =>
    rpc.call(method, { to: address, ...params }).then(
      () => setError(""),
      (e) => setError(describeError(e)),
    );
  const ask = async (e) => {
    e.preventDefault();
    setAnswer("…");
    try {
      // Streamed: the text grows under "Writing" (agent.delta events) while the agent works.
      const reply = await rpc.call("agent.ask", {
        to: address,
        input,
        stream: true,
        ...(thread ? { thread } : {}),
      });
      setAnswer(reply.output);
      setError("");
    } catch (err) {
      setAnswer("");
      setError(describeError(err));
    }
  };

  const showHistory = async (e) => {
    e.preventDefault();
    try {
      setHistory((await rpc.call("agent.history", { to: address, thread: thread || "default" })).messages);
      setError("");
    } catch (err) {
      setError(describeError(err));
    }
  };

  return html`<aside class="panel" aria-labelledby="agent-title">
    <header>
      <h2 id="agent-title">${address}</h2>
      <button type="button" onClick=${onClose} aria-label="Close the agent panel">×</button>
    </header>
    <dl class="facts">
      <dt>Task</dt>
      <dd>${stats?.task ? html`${short(stats.task)} <span class="muted">(${duration(Date.now() - stats.since)})</span>` : "idle"}</dd>
      ${stats?.writing ? html`<dt>Writing</dt><dd class="writing" aria-live="polite">${short(stats.writing.slice(-300))}</dd>` : null}
      <dt>Usage</dt>
      <dd>${stats?.tokens ?? 0} tokens · $${(stats?.costUsd ?? 0).toFixed(4)}</dd>
      <dt>Tools</dt>
      <dd>${tools === undefined ? "…" : tools === null ? "—" : tools.length === 0 ? "none" : tools.join(", ")}</dd>
    </dl>
    <form onSubmit=${ask} class="row">
      <label for="ask-input" class="sr-only">Ask this agent</label>
      <input id="ask-input" placeholder="Ask this agent…" value=${input} onInput=${(e) => setInput(e.currentTarget.value)} />
      <button type="submit">Ask</button>
    </form>
    <form onSubmit=${showHistory} class="row">
      <label for="thread-input" class="sr-only">Conversation thread</label>
      <input id="thread-input" placeholder="Thread (asks above join it)" value=${thread} onInput=${(e) => setThread(e.currentTarget.value)} />
      <button type="submit">Show history</button>
    </form>
    ${
      history === undefined
        ? null
        : history.length === 0
          ? html`<p class="muted">No history on this thread (the agent keeps history only when its spec sets history).</p>`
          : html`<ol class="history">
              ${history.map((m, i) => html`<li key=${i} class=${m.role}><strong>${m.role}</strong> ${short(m.content)}</li>`)}
            </ol>`
    }
    ${answer ? html`<pre class="answer" aria-live="polite">${answer}</pre>` : null}
    <div class="row">
      <button type="button" onClick=${() => act("agent.kill", { reason: "killed from the inspector" })}>Kill (restart)</button>
      <button type="button" onClick=${() => act("agent.stop", { reason: "stopped from the inspector" })}>Stop</button>
    </div>
    ${error ? html`<pre class="error" role="alert">${error}</pre>` : null}
    <h3>Recent tool calls</h3>
    ${
      stats?.tools?.length
        ? html`<ul class="calls">
            ${stats.tools.map(
              (call) => html`<li key=${call.callId}>
                <strong>${call.tool}</strong> ${short(call.args)}
                <div class=${call.ok === false ? "error" : "muted"}>→ ${call.ok === undefined ? "running…" : short(call.result)}</div>
              </li>`,
            )}
          </ul>`
        : html`<p class="muted">None seen since the page opened.</p>`
    }
  </aside>`;
};
