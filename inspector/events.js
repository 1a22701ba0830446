/**
 * Events: the live log of everything the caller's subscription sees, newest first, filterable by
 * type, tree and agent, pausable; the buffer keeps the last 500. Select an event to see it whole.
 */
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { maxEvents } from "./store.js";

const time = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour12: false });

export const EventsView = ({ store }) => {
  const [paused, setPaused] = useState(false);
  const [shown, setShown] = useState(store.state.events);
  const [type, setType] = useState("");
  const [tree, setTree] = useState("");
  const [agent, setAgent] = useState("");
  const [open, setOpen] = useState(undefined);

  useEffect(() => {
    if (paused) return undefined;
    setShown(store.state.events);
    return store.subscribe(() => setShown(store.state.events));
  }, [paused]);

  const matches = (e) =>
    (type === "" || e.type.includes(type)) &&
    (tree === "" || (e.tree ?? "").includes(tree)) &&
    (agent === "" || (e.address ?? "").includes(agent));
  const visible = shown.filter(matches);

  return html`<section aria-labelledby="events-title">
    <h2 id="events-title">Events</h2>
    <div class="row filters">
      <label>Type <input value=${type} onInput=${(e) => setType(e.currentTarget.value)} placeholder="agent." /></label>
      <label>Tree <input value=${tree} onInput=${(e) => setTree(e.currentTarget.value)} /></label>
      <label>Agent <input value=${agent} onInput=${(e) => setAgent(e.currentTarget.value)} placeholder="/tree/lead" /></label>
      <button type="button" aria-pressed=${paused} onClick=${() => setPaused(!paused)}>${paused ? "Resume" : "Pause"}</button>
      <span class="muted">${visible.length} shown · last ${maxEvents} kept</span>
    </div>
    <ol class="events">
      ${visible.map((e, i) => {
        const key = `${e.time}-${e.type}-${e.address}-${i}`;
        return html`<li key=${key} data-type=${e.type}>
          <button type="button" class="event" aria-expanded=${open === key} onClick=${() => setOpen(open === key ? undefined : key)}>
            <span class="muted">${time(e.time)}</span> <strong>${e.type}</strong> ${e.address ?? ""}
          </button>
          ${open === key ? html`<pre class="whole">${JSON.stringify(e, null, 2)}</pre>` : null}
        </li>`;
      })}
    </ol>
  </section>`;
};
