/**
 * Providers: each provider's pool by key fingerprint (requests, failures, cooling until when) and
 * its circuits (operator only: these figures count every tenant's traffic); and the spend per
 * provider/model seen on the event stream since the page opened, as bars.
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, html } from "./html.js";

/** A key's counters as "requests 3 · failures 1 · cooling until 12:00:05". */
const keyDetails = (key) =>
  Object.entries(key)
    .filter(([name]) => name !== "fingerprint" && name !== "cooling")
    .map(([name, value]) =>
      /until|At(Ms)?$/.test(name) && typeof value === "number"
        ? `${name} ${new Date(value).toLocaleTimeString()}`
        : `${name} ${typeof value === "object" ? JSON.stringify(value) : value}`,
    )
    .join(" · ");

const SpendBars = ({ spend }) => {
  const rows = [...spend]
    .sort((a, b) => b[1].costUsd - a[1].costUsd || b[1].tokens - a[1].tokens)
    .slice(0, 12);
  if (rows.length === 0) return html`<p class="muted">No model calls seen since the page opened.</p>`;
  const most = Math.max(...rows.map(([, v]) => v.costUsd), 1e-9);
  return html`<svg class="bars" width="640" height=${rows.length * 24 + 4} role="img" aria-label="spend per model">
    ${rows.map(
      ([model, { costUsd, tokens }], i) => html`<g transform=${`translate(0,${i * 24})`}>
        <text x="0" y="15">${model}</text>
        <rect x="200" y="4" height="14" width=${Math.max(1, (costUsd / most) * 240)} />
        <text x=${206 + (costUsd / most) * 240} y="15">$${costUsd.toFixed(4)} · ${tokens} tokens</text>
      </g>`,
    )}
  </svg>`;
};

/** Spend per day (or per tree, per model) from the usage ledger, as bars; hidden when the server keeps none. */
const LedgerBars = ({ groups, label }) => {
  if (groups.length === 0) return html`<p class="muted">No calls recorded yet.</p>`;
  const most = Math.max(...groups.map((g) => g.costUsd), 1e-9);
  const tokens = Math.max(...groups.map((g) => g.inputTokens + g.outputTokens), 1);
  return html`<svg class="bars" width="640" height=${groups.length * 24 + 4} role="img" aria-label=${label}>
    ${groups.map((g, i) => {
      const share = most > 1e-9 ? g.costUsd / most : (g.inputTokens + g.outputTokens) / tokens;
      return html`<g transform=${`translate(0,${i * 24})`}>
        <text x="0" y="15">${g.key}</text>
        <rect x="200" y="4" height="14" width=${Math.max(1, share * 240)} />
        <text x=${206 + share * 240} y="15">$${g.costUsd.toFixed(4)} · ${g.inputTokens + g.outputTokens} tokens · ${g.calls} calls</text>
      </g>`;
    })}
  </svg>`;
};

const Ledger = ({ rpc }) => {
  const [by, setBy] = useState("day");
  const [groups, setGroups] = useState(undefined);
  useEffect(() => {
    const since = Date.now() - 30 * 24 * 3600 * 1000;
    rpc.call("usage.totals", { by, since }).then(
      (r) => setGroups(r.groups),
      () => setGroups(null),
    );
  }, [rpc, by]);
  if (groups === null) return null;
  return html`<section aria-labelledby="ledger-title">
    <h3 id="ledger-title">Spend over the last 30 days</h3>
    <label>By
      <select value=${by} onChange=${(e) => setBy(e.currentTarget.value)}>
        <option value="day">day</option>
        <option value="tree">tree</option>
        <option value="model">model</option>
        <option value="agent">agent</option>
      </select>
    </label>
    ${groups === undefined ? html`<p class="muted">…</p>` : html`<${LedgerBars} groups=${groups} label=${`spend by ${by}`} />`}
  </section>`;
};

export const ProvidersView = ({ rpc, store }) => {
  const [status, setStatus] = useState(undefined);
  const [error, setError] = useState("");
  const [, setVersion] = useState(0);
  const load = () =>
    rpc.call("providers.status").then(
      (s) => {
        setStatus(s);
        setError("");
      },
      (e) => setError(describeError(e)),
    );
  useEffect(() => {
    load();
    return store.subscribe(() => setVersion(store.state.version));
  }, [rpc]);

  return html`<section aria-labelledby="providers-title">
    <h2 id="providers-title">Providers</h2>
    <button type="button" onClick=${load}>Refresh</button>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${status?.providers
      ?.filter((p) => p.configured)
      .map(
        (p) => html`<article class="provider" key=${p.name}>
          <h3>${p.name} <span class=${`pill ${p.state}`}>${p.state}</span></h3>
          <table>
            <thead><tr><th>key</th><th>state</th><th>details</th></tr></thead>
            <tbody>
              ${p.keys.map(
                (k) =>
                  html`<tr><td><code>${k.fingerprint}</code></td><td>${k.cooling ? "cooling" : "ready"}</td><td class="muted">${keyDetails(k)}</td></tr>`,
              )}
            </tbody>
          </table>
          ${p.circuits.length > 0 ? html`<p>Circuits: ${p.circuits.map((c) => `${c.model} ${c.state}`).join(", ")}</p>` : null}
        </article>`,
      )}
    <${Ledger} rpc=${rpc} />
    <h3>Spend per model (this session)</h3>
    <${SpendBars} spend=${store.state.spend} />
  </section>`;
};
