/**
 * The Arbor inspector: a single page that speaks the public JSON-RPC protocol over the server's
 * WebSocket, as any client does. On loopback it connects without a token; elsewhere it asks for one
 * and keeps it in this tab's session storage only.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AgentPanel } from "./agent.js";
import { ApprovalsView } from "./approvals.js";
import { EventsView } from "./events.js";
import { html } from "./html.js";
import { MemoryView } from "./memory.js";
import { ProvidersView } from "./providers.js";
import { connect } from "./rpc.js";
import { makeStore } from "./store.js";
import { TreesView } from "./trees.js";

const rpcPath = document.querySelector('meta[name="arbor-rpc"]')?.getAttribute("content") ?? "/rpc";
const rpcUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${rpcPath}`;
const tokenKey = "arbor.inspector.token";

const views = [
  { id: "trees", label: "Trees" },
  { id: "events", label: "Events" },
  { id: "approvals", label: "Approvals" },
  { id: "memory", label: "Memory" },
  { id: "providers", label: "Providers" },
];

const TokenForm = ({ onToken, problem }) => {
  const [token, setToken] = useState("");
  const submit = (e) => {
    e.preventDefault();
    onToken(token);
  };
  return html`<form class="login" onSubmit=${submit}>
    <h1>Arbor inspector</h1>
    <p>${problem}</p>
    <label for="token">Bearer token</label>
    <input id="token" type="password" autocomplete="off" value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
    <button type="submit">Connect</button>
    <p class="muted">The token stays in this tab (session storage) and is sent only to this server.</p>
  </form>`;
};

const App = () => {
  const [token, setToken] = useState(sessionStorage.getItem(tokenKey) ?? "");
  const [rpc, setRpc] = useState(undefined);
  const [problem, setProblem] = useState("");
  const [store] = useState(makeStore);
  const [view, setView] = useState("trees");
  const [selected, setSelected] = useState(undefined);

  useEffect(() => {
    let live;
    connect(rpcUrl, token || undefined).then(
      async (conn) => {
        live = conn;
        if (token) sessionStorage.setItem(tokenKey, token);
        conn.onEvent((event) => store.add(event));
        conn.onClose(() => {
          setRpc(undefined);
          setProblem("The connection to the server closed. Reload to reconnect.");
        });
        await conn.call("events.subscribe", {});
        conn.call("approval.list", {}).then(
          (r) => store.seedApprovals(r.approvals),
          () => {},
        );
        setProblem("");
        setRpc(conn);
      },
      () => {
        sessionStorage.removeItem(tokenKey);
        setProblem(
          token
            ? "The server refused this token."
            : "This server needs a token (it is not on loopback, or tokens are configured).",
        );
      },
    );
    return () => live?.close();
  }, [token]);

  if (rpc === undefined)
    return problem
      ? html`<${TokenForm} problem=${problem} onToken=${setToken} />`
      : html`<p class="muted">Connecting to ${rpcUrl}…</p>`;

  const onKey = (e, i) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const next = views[(i + (e.key === "ArrowRight" ? 1 : views.length - 1)) % views.length];
    setView(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };

  return html`<div class="shell">
    <header class="top">
      <h1>Arbor</h1>
      <nav role="tablist" aria-label="Views">
        ${views.map(
          (v, i) => html`<button
            type="button"
            role="tab"
            id=${`tab-${v.id}`}
            aria-selected=${view === v.id}
            tabindex=${view === v.id ? 0 : -1}
            onClick=${() => setView(v.id)}
            onKeyDown=${(e) => onKey(e, i)}
          >${v.label}</button>`,
        )}
      </nav>
      <span class="muted status" id="status">connected · ${rpcUrl}</span>
    </header>
    <main role="tabpanel" aria-labelledby=${`tab-${view}`}>
      ${view === "trees" ? html`<${TreesView} rpc=${rpc} store=${store} selected=${selected} onSelect=${setSelected} />` : null}
      ${view === "events" ? html`<${EventsView} store=${store} />` : null}
      ${view === "approvals" ? html`<${ApprovalsView} rpc=${rpc} store=${store} />` : null}
      ${view === "memory" ? html`<${MemoryView} rpc=${rpc} />` : null}
      ${view === "providers" ? html`<${ProvidersView} rpc=${rpc} store=${store} />` : null}
    </main>
    ${selected ? html`<${AgentPanel} rpc=${rpc} store=${store} address=${selected} onClose=${() => setSelected(undefined)} />` : null}
  </div>`;
};

render(html`<${App} />`, document.getElementById("app"));
