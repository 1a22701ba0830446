/**
 * `tools.list {agent?}` and `tools.call {name, args?, as?}` over the runtime's tool registry.
 * With `agent`/`as`, the agent's own permissions apply and it must live in a tree the caller's
 * tenant owns (another tenant's agent answers as not found). Without `as`, the call is made as the
 * operator identity, which only the operator tenants may use (tools such as the file tools act on
 * the server's machine).
 */
import { Effect, Schema } from "effect";
import { NotFound } from "../../../runtime/errors.ts";
import type { AgentSystemService } from "../../../runtime/system.ts";
import { operatorTenants } from "../auth.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import type { CallerContext, ExtraMethods, MethodDef } from "../methods.ts";

const AgentRef = Schema.String.pipe(Schema.minLength(1, { message: () => "an agent address or id" }));

const ListParams = Schema.Struct({ agent: Schema.optional(AgentRef) });
const CallParams = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1, { message: () => "a tool name" })),
  args: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  as: Schema.optional(AgentRef),
});

/** The `tools.*` methods. */
export const toolMethods = (system: AgentSystemService): ExtraMethods => {
  const ownAgent = (to: string, caller: CallerContext) =>
    Effect.flatMap(system.treeOf(to), (tree) =>
      tree.tenant === caller.tenant
        ? Effect.void
        : Effect.fail(new NotFound({ reason: "agent_not_found", target: to })),
    );
  return {
    "tools.list": {
      params: ListParams as unknown as MethodDef["params"],
      run: (params, caller) => {
        const { agent } = params as Schema.Schema.Type<typeof ListParams>;
        const listed =
          agent === undefined
            ? system.toolsFor()
            : Effect.zipRight(ownAgent(agent, caller), system.toolsFor(agent));
        return Effect.mapBoth(listed, { onFailure: toRpcFailure, onSuccess: (tools) => ({ tools }) });
      },
    },
    "tools.call": {
      params: CallParams as unknown as MethodDef["params"],
      run: (params, caller) => {
        const { name, args, as } = params as Schema.Schema.Type<typeof CallParams>;
        if (as === undefined && !operatorTenants.has(caller.tenant))
          return Effect.fail(
            rpcFailure(
              RpcCode.unauthorized,
              "operator_only",
              "user",
              "tools.call without `as` acts as the operator; name an agent of yours with `as`",
            ),
          );
        const called =
          as === undefined
            ? system.callTool(name, args ?? {})
            : Effect.zipRight(ownAgent(as, caller), system.callTool(name, args ?? {}, as));
        return Effect.mapError(called, toRpcFailure);
      },
    },
  };
};
