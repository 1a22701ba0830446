/**
 * Memory: search the caller's partition (vector, keyword or hybrid, with each retriever's rank), an
 * entity's facts with their history (valid from / to) and its relations drawn as a small graph, and
 * an agent's lineage (spawned_by, supervised_by, handed_off_to).
 */
import { useState } from "preact/hooks";
import { describeError, html } from "./html.js";

const when = (ms) => (ms === null || ms === undefined ? "now" : new Date(ms).toLocaleString());

/** Neighbours around the entity on a circle: enough for the few relations one entity has. */
const RelationGraph = ({ center, nodes, edges }) => {
  const others = nodes.filter((n) => n.id !== center);
  const size = 320;
  const r = 120;
  const at = new Map([[center, { x: size / 2, y: size / 2 }]]);
  others.forEach((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, others.length) - Math.PI / 2;
    at.set(n.id, { x: size / 2 + r * Math.cos(angle), y: size / 2 + r * Math.sin(angle) });
  });
  const label = (id) => nodes.find((n) => n.id === id)?.name || id;
  return html`<svg class="graph" width=${size} height=${size} role="img" aria-label=${`relations of ${center}`}>
    ${edges
      .filter((e) => at.has(e.from) && at.has(e.to))
      .map((e) => {
        const a = at.get(e.from);
        const b = at.get(e.to);
        return html`<g class="relation"><line x1=${a.x} y1=${a.y} x2=${b.x} y2=${b.y} /><text x=${(a.x + b.x) / 2} y=${(a.y + b.y) / 2 - 4}>${e.type}</text></g>`;
      })}
    ${[...at].map(
      ([id, p]) =>
        html`<g class=${id === center ? "entity center" : "entity"}><circle cx=${p.x} cy=${p.y} r="6" /><text x=${p.x + 9} y=${p.y + 4}>${label(id)}</text></g>`,
    )}
  </svg>`;
};

export const MemoryView = ({ rpc }) => {
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState("hybrid");
  const [group, setGroup] = useState("passage");
  const [documents, setDocuments] = useState(undefined);
  const [hits, setHits] = useState(undefined);
  const [entity, setEntity] = useState("");
  const [facts, setFacts] = useState(undefined);
  const [graph, setGraph] = useState(undefined);
  const [agent, setAgent] = useState("");
  const [lineage, setLineage] = useState(undefined);
  const [error, setError] = useState("");

  const attempt = (work) => async (e) => {
    e.preventDefault();
    setError("");
    try {
      await work();
    } catch (err) {
      setError(
        err?.code === -32601
          ? "Memory is off on this server (started with --no-memory)."
          : describeError(err),
      );
    }
  };
  const search = attempt(async () => {
    const found = await rpc.call("memory.search", {
      query,
      mode,
      k: 10,
      ...(group === "document" ? { group } : {}),
    });
    setHits(found.results);
    setDocuments(found.documents);
  });
  const lookUp = attempt(async () => {
    const [recalled, neighbours] = await Promise.all([
      rpc.call("memory.recall", { entity, history: true }),
      rpc.call("memory.neighbors", { id: entity, depth: 1 }).catch(() => ({ nodes: [], edges: [] })),
    ]);
    setFacts(recalled.facts);
    setGraph(neighbours);
  });
  const trace = attempt(async () => setLineage((await rpc.call("memory.lineage", { agent })).edges));

  return html`<section aria-labelledby="memory-title">
    <h2 id="memory-title">Memory</h2>
    <form class="row" onSubmit=${search}>
      <label for="memory-query" class="sr-only">Search memory</label>
      <input id="memory-query" placeholder="Search memory…" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      <label>Mode
        <select value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
          <option value="hybrid">hybrid</option>
          <option value="vector">vector</option>
          <option value="keyword">keyword</option>
        </select>
      </label>
      <label>Results
        <select value=${group} onChange=${(e) => setGroup(e.currentTarget.value)}>
          <option value="passage">passages</option>
          <option value="document">documents</option>
        </select>
      </label>
      <button type="submit">Search</button>
    </form>
    ${
      documents !== undefined
        ? html`<ol class="hits documents">
            ${documents.map(
              (doc) => html`<li key=${doc.documentId} data-document=${doc.documentId}>
                <div><strong>${doc.documentId}</strong> <span class="muted">score ${doc.score.toFixed(3)}</span></div>
                ${doc.passages.map((p) => html`<p key=${p.chunkId}>${p.text} <span class="muted">— ${p.citation}</span></p>`)}
              </li>`,
            )}
          </ol>`
        : hits === undefined
          ? null
          : hits.length === 0
            ? html`<p class="muted">Nothing found.</p>`
            : html`<ol class="hits">
              ${hits.map(
                (hit) => html`<li key=${hit.chunkId} data-document=${hit.documentId}>
                  <div><strong>${hit.documentId}</strong> <span class="muted">score ${hit.score.toFixed(3)} · ranks ${Object.entries(
                    hit.ranks,
                  )
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", ")}</span></div>
                  <p>${hit.text}</p>
                </li>`,
              )}
            </ol>`
    }
    <h3>Entity</h3>
    <form class="row" onSubmit=${lookUp}>
      <label for="memory-entity" class="sr-only">Entity id</label>
      <input id="memory-entity" placeholder="user:ann" value=${entity} onInput=${(e) => setEntity(e.currentTarget.value)} />
      <button type="submit">Show facts and relations</button>
    </form>
    ${
      facts === undefined
        ? null
        : html`<table class="facts-table">
            <thead><tr><th>attribute</th><th>value</th><th>valid from</th><th>valid to</th></tr></thead>
            <tbody>
              ${facts.map(
                (f) => html`<tr class=${f.validTo === null ? "current" : "past"}>
                  <td>${f.attribute}</td><td>${JSON.stringify(f.value)}</td><td>${when(f.validFrom)}</td><td>${when(f.validTo)}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${graph && graph.edges.length > 0 ? html`<${RelationGraph} center=${entity} nodes=${graph.nodes} edges=${graph.edges} />` : null}
    <h3>Lineage</h3>
    <form class="row" onSubmit=${trace}>
      <label for="memory-agent" class="sr-only">Agent address</label>
      <input id="memory-agent" placeholder="/tree/lead/worker" value=${agent} onInput=${(e) => setAgent(e.currentTarget.value)} />
      <button type="submit">Show lineage</button>
    </form>
    ${
      lineage === undefined
        ? null
        : html`<ul class="lineage">
            ${lineage.map((e) => html`<li>${e.from} <strong>${e.type}</strong> ${e.to} <span class="muted">${when(e.time)}</span></li>`)}
          </ul>`
    }
    ${error ? html`<pre class="error" role="alert">${error}</pre>` : null}
  </section>`;
};
