/**
 * The error-code table: every runtime error a method can fail with maps to its documented code,
 * keeping `reason` and `fault`; anything unexpected becomes -32603 without leaking internals.
 */
import { describe, expect, it } from "vitest";
import { RpcCode, toRpcFailure } from "../../protocols/ws/codes.ts";
import {
  AgentFailed,
  MailboxFull,
  NotAllowed,
  NotFound,
  PluginError,
  SpecInvalid,
  Timeout,
} from "../../runtime/errors.ts";
import { GuardrailViolation } from "../../runtime/guardrail.ts";
import { ProviderError } from "../../runtime/model.ts";
import { TripwireTripped } from "../../runtime/tripwire.ts";

const provider = (reason: ProviderError["reason"]) =>
  new ProviderError({ reason, provider: "openai", model: "gpt", retryable: false, detail: "nope" });

describe("toRpcFailure", () => {
  const cases = [
    [
      new NotFound({ reason: "agent_not_found", target: "/t/a" }),
      RpcCode.notFound,
      "agent_not_found",
      "user",
    ],
    [
      new MailboxFull({ reason: "mailbox_full", address: "/t/a", capacity: 1, policy: "fail" }),
      RpcCode.overloaded,
      "mailbox_full",
      "user",
    ],
    [
      new AgentFailed({ reason: "gave_up", address: "/t/a", detail: "too many restarts" }),
      RpcCode.agentFailed,
      "gave_up",
      "arbor",
    ],
    [new Timeout({ reason: "timeout", target: "/t/a", afterMs: 5 }), RpcCode.timeout, "timeout", "user"],
    [provider("rate_limited"), RpcCode.providerError, "rate_limited", "third_party"],
    [provider("auth"), RpcCode.providerError, "auth", "config"],
    [provider("budget_exceeded"), RpcCode.budgetExceeded, "budget_exceeded", "user"],
    [
      new GuardrailViolation({
        reason: "blocked",
        stage: "output",
        policy: "pii",
        detail: "email",
        fatal: false,
      }),
      RpcCode.guardrailViolation,
      "blocked",
      "user",
    ],
    [
      new TripwireTripped({
        reason: "tripwire",
        tripwire: "maxTokens",
        action: "halt",
        measurement: 9,
        threshold: 5,
      }),
      RpcCode.tripwire,
      "tripwire",
      "model",
    ],
    [
      new NotAllowed({ reason: "limit", address: "/t", detail: "too many" }),
      RpcCode.notAllowed,
      "limit",
      "user",
    ],
    [
      new PluginError({ reason: "setup_failed", plugin: "mcp", detail: "spawn failed" }),
      RpcCode.pluginError,
      "setup_failed",
      "config",
    ],
  ] as const;

  it.each(cases)("maps %s", (error, code, reason, fault) => {
    const wire = toRpcFailure(error).toJson();
    expect(wire).toMatchObject({ code, message: error.message, data: { reason, fault } });
  });

  it("roots SpecInvalid problems at $.params.spec and answers -32602", () => {
    const wire = toRpcFailure(
      new SpecInvalid({
        reason: "invalid_spec",
        problems: [{ path: "$.root.kind", message: "unknown kind" }],
      }),
    ).toJson();
    expect(wire).toMatchObject({
      code: -32602,
      data: {
        reason: "invalid_spec",
        fault: "user",
        problems: [{ path: "$.params.spec.root.kind", message: "unknown kind" }],
      },
    });
  });

  it("turns anything else into -32603 without its message or stack", () => {
    const wire = toRpcFailure(new Error("secret internals at /home/x")).toJson();
    expect(wire).toEqual({
      code: -32603,
      message: "internal error: the server could not answer",
      data: { reason: "internal", fault: "arbor" },
    });
    expect(
      JSON.stringify(toRpcFailure({ _tag: "Weird", message: "db password=hunter2" }).toJson()),
    ).not.toContain("hunter2");
  });
});
