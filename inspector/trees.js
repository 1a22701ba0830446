/**
 * Trees: every live tree of the caller's tenant drawn as a supervision tree (kind, role, state,
 * restarts, task in hand, elapsed time, tokens), redrawn as lifecycle events arrive; a restart
 * flashes its agent; a durable tree says so, and when it came back after a restart. Select an agent for its detail; spawn a tree from a spec; stop a tree.
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, duration, html } from "./html.js";
import { layoutTree, nodeHeight, nodeWidth } from "./layout.js";

const redrawOn = /^(tree\.|agent\.(spawned|failed|restarted|stopped|escalated|task|replied|request_failed))/;

const exampleSpec = JSON.stringify(
  {
    name: "demo",
    root: {
      name: "lead",
      kind: "parent",
      model: { provider: "scripted", script: [{ text: "lead heard: {{input}}" }] },
      children: [
        { name: "echo", kind: "micro", handler: "echo" },
        { name: "upper", kind: "micro", handler: "upper" },
      ],
    },
  },
  null,
  2,
);

const AgentBox = ({ at, stats, selected, onSelect, now }) => {
  const { node } = at;
  const busy = stats?.since !== undefined;
  const flashing = stats !== undefined && now - stats.restartedAt < 2000;
  const lines = [
    `${node.kind}${node.role ? ` · ${node.role}` : ""}`,
    `${node.state} · ↻ ${node.restarts}${busy ? ` · ${duration(now - stats.since)}` : ""}`,
    `${stats?.tokens ?? 0} tokens${node.mailbox.size > 0 ? ` · ${node.mailbox.size} queued` : ""}`,
  ];
  const classes = [
    "agent",
    `status-${node.status}`,
    busy ? "busy" : "",
    flashing ? "flash" : "",
    selected ? "selected" : "",
  ];
  return html`<g
    class=${classes.join(" ")}
    transform=${`translate(${at.x},${at.y})`}
    tabindex="0"
    role="button"
    aria-label=${`${node.address}: ${node.kind}, ${node.state}, ${node.restarts} restarts`}
    data-address=${node.address}
    data-restarts=${node.restarts}
    data-state=${node.state}
    onClick=${() => onSelect(node.address)}
    onKeyDown=${(e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      e.preventDefault();
      onSelect(node.address);
    }}
  >
    <rect width=${nodeWidth} height=${nodeHeight} rx="8" />
    <text x="10" y="17" class="name">${node.name}</text>
    ${lines.map((line, i) => html`<text x="10" y=${33 + i * 13} class="detail">${line}</text>`)}
    ${busy ? html`<title>${stats.task}</title>` : null}
  </g>`;
};

const TreeDrawing = ({ root, store, selected, onSelect, now }) => {
  const { nodes, edges, width, height } = layoutTree(root);
  return html`<svg class="tree" width=${width + 2} height=${height + 2} viewBox=${`-1 -1 ${width + 2} ${height + 2}`}>
    ${edges.map(
      (e) =>
        html`<path
          class="edge"
          d=${`M${e.from.x + nodeWidth / 2},${e.from.y + nodeHeight} C${e.from.x + nodeWidth / 2},${e.to.y - 20} ${e.to.x + nodeWidth / 2},${e.from.y + nodeHeight + 20} ${e.to.x + nodeWidth / 2},${e.to.y}`}
        />`,
    )}
    ${nodes.map(
      (at) =>
        html`<${AgentBox}
          key=${at.node.address}
          at=${at}
          stats=${store.state.agents.get(at.node.address)}
          selected=${selected === at.node.address}
          onSelect=${onSelect}
          now=${now}
        />`,
    )}
  </svg>`;
};

export const TreesView = ({ rpc, store, selected, onSelect }) => {
  const [trees, setTrees] = useState([]);
  const [error, setError] = useState("");
  const [spec, setSpec] = useState(exampleSpec);
  const [now, setNow] = useState(Date.now());

  const refresh = async () => {
    try {
      const { trees: list } = await rpc.call("tree.list");
      const drawn = await Promise.all(
        list.map((tree) =>
          rpc.call("tree.inspect", { treeId: tree.treeId }).then(
            (root) => ({ ...tree, root }),
            () => undefined,
          ),
        ),
      );
      setTrees(drawn.filter((t) => t !== undefined));
    } catch (e) {
      setError(describeError(e));
    }
  };

  useEffect(() => {
    refresh();
    let timer;
    const off = store.subscribe(() => {
      const latest = store.state.events[0];
      if (latest === undefined || !redrawOn.test(latest.type) || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        refresh();
      }, 100);
    });
    const tick = setInterval(() => setNow(Date.now()), 500);
    return () => {
      off();
      clearInterval(tick);
      clearTimeout(timer);
    };
  }, [rpc]);

  const spawn = async (e) => {
    e.preventDefault();
    setError("");
    try {
      await rpc.call("tree.spawn", { spec: JSON.parse(spec) });
      refresh();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return html`<section aria-labelledby="trees-title">
    <h2 id="trees-title">Trees</h2>
    ${trees.length === 0 ? html`<p class="muted" id="no-trees">No trees are running. Spawn one below.</p>` : null}
    ${trees.map(
      (tree) => html`<article class="tree-card" key=${tree.treeId} data-tree=${tree.treeId}>
        <header>
          <h3>${tree.treeId}</h3>
          <span class="muted">${tree.agents} agents · up ${duration(now - tree.startedAt)}</span>
          ${tree.durable ? html`<span class="badge" title="kept in the store: it comes back after a restart of the server">durable${tree.resumedAt ? ` · resumed ${duration(now - tree.resumedAt)} ago` : ""}</span>` : null}
          <button type="button" onClick=${() => rpc.call("tree.stop", { treeId: tree.treeId }).then(refresh, (err) => setError(describeError(err)))}>
            Stop tree
          </button>
        </header>
        <div class="scroll">
          <${TreeDrawing} root=${tree.root} store=${store} selected=${selected} onSelect=${onSelect} now=${now} />
        </div>
      </article>`,
    )}
    <details>
      <summary>Spawn a tree</summary>
      <form onSubmit=${spawn}>
        <label for="spec">Tree spec (JSON)</label>
        <textarea id="spec" rows="12" value=${spec} onInput=${(e) => setSpec(e.currentTarget.value)}></textarea>
        <button type="submit">Spawn</button>
      </form>
    </details>
    ${error ? html`<pre class="error" role="alert">${error}</pre>` : null}
  </section>`;
};
