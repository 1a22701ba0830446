/**
 * `arbor run` on a spec with a workflow: runs the workflow and turns its result into the run's
 * answer (the workflow's output), or a failure naming the step that failed and why.
 */
import { Effect } from "effect";
import { runWorkflow } from "../../agents/workflow/run.ts";
import type { AgentSystemService } from "../../runtime/system.ts";

export const workflowTask = (system: AgentSystemService, treeId: string, input: string) =>
  runWorkflow(system, treeId, input).pipe(
    Effect.mapError((error) => ({ message: error.message })),
    Effect.flatMap((result) =>
      result.status === "completed"
        ? Effect.succeed({ output: result.output, usage: result.usage })
        : Effect.fail({ message: `workflow failed: ${result.reason ?? "a step failed"}` }),
    ),
  );
