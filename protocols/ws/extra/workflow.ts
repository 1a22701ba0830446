/**
 * `workflow.run {treeId, input?, runId?}` on the wire: runs the tree's workflow and answers with every
 * step's outcome; the same `runId` again resumes the run (see RunWorkflowOptions). Only the tree's own tenant may run it; another tenant's tree does not exist.
 */
import { Effect, Schema } from "effect";
import { runWorkflow } from "../../../agents/workflow/run.ts";
import { NotFound } from "../../../runtime/errors.ts";
import type { AgentSystemService } from "../../../runtime/system.ts";
import { RpcCode, rpcFailure, toRpcFailure } from "../codes.ts";
import type { ExtraMethods, MethodDef } from "../methods.ts";

const RunParams = Schema.Struct({
  treeId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  input: Schema.optional(Schema.String.pipe(Schema.maxLength(1_000_000))),
  /** Names the run: running again with the same id resumes it (finished steps are not run again). */
  runId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))),
});

/** The `workflow.*` methods. */
export const workflowMethods = (system: AgentSystemService): ExtraMethods => ({
  "workflow.run": {
    params: RunParams as unknown as MethodDef["params"],
    run: (params, caller) => {
      const { treeId, input, runId } = params as typeof RunParams.Type;
      return Effect.gen(function* () {
        const tree = yield* system.treeOf(treeId);
        if (tree.tenant !== caller.tenant)
          return yield* new NotFound({ reason: "tree_not_found", target: treeId });
        return yield* runWorkflow(system, treeId, input ?? "", runId !== undefined ? { runId } : {});
      }).pipe(
        Effect.mapError((error) =>
          error._tag === "NoWorkflow"
            ? rpcFailure(RpcCode.invalidParams, "no_workflow", "user", error.message, { treeId })
            : toRpcFailure(error),
        ),
      );
    },
  },
});
