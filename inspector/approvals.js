/**
 * Approvals: the tool calls waiting for a person in the caller's trees (every tenant's for the
 * operator), with their redacted arguments and time left; approve or deny each (a denial may say
 * why: the model reads it). Decided calls leave the list as `approval.decided` arrives.
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, html } from "./html.js";

const Approval = ({ rpc, approval, now }) => {
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const decide = (decision) =>
    rpc
      .call("approval.decide", {
        approvalId: approval.approvalId,
        decision,
        ...(reason ? { reason } : {}),
      })
      .then(
        () => setError(""),
        (e) => setError(describeError(e)),
      );
  const left = Math.max(0, Math.round((approval.expiresAt - now) / 1000));
  return html`<li class="approval" data-approval=${approval.approvalId}>
    <div><strong>${approval.tool}</strong> <span class="muted">${approval.address} · ${left} s left</span></div>
    <pre>${JSON.stringify(approval.args, null, 2)}</pre>
    <div class="row">
      <button type="button" onClick=${() => decide("approve")}>Approve</button>
      <label class="sr-only" for=${`reason-${approval.approvalId}`}>Reason</label>
      <input id=${`reason-${approval.approvalId}`} placeholder="Reason (optional)" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
      <button type="button" onClick=${() => decide("deny")}>Deny</button>
    </div>
    ${error ? html`<pre class="error" role="alert">${error}</pre>` : null}
  </li>`;
};

export const ApprovalsView = ({ rpc, store }) => {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.state.version)), []);
  const pending = [...store.state.approvals.values()];
  const now = Date.now();
  return html`<section aria-labelledby="approvals-title">
    <h2 id="approvals-title">Waiting for approval</h2>
    ${
      pending.length === 0
        ? html`<p class="muted">No tool call is waiting for a person.</p>`
        : html`<ul class="approvals">
            ${pending.map((a) => html`<${Approval} key=${a.approvalId} rpc=${rpc} approval=${a} now=${now} />`)}
          </ul>`
    }
  </section>`;
};
