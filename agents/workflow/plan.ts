/** A `plan: true` step's answer read as a workflow of the tree it runs in. */
import { Either, type Schema } from "effect";
import { agentPaths } from "../../runtime/spec/extensions.ts";
import type { AgentNode } from "../../runtime/system.ts";
import type { WorkflowSpec } from "./schema.ts";
import { checkWorkflow } from "./validate.ts";

/**
 * A plan as a model wrote it: the JSON object in its answer, checked as a workflow of this tree.
 * Gotcha: a plan may not plan again.
 */
export const readPlan = (
  text: string,
  root: AgentNode,
): Either.Either<Schema.Schema.Type<typeof WorkflowSpec>, string> => {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end < start) return Either.left("the plan holds no JSON object");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch (error) {
    return Either.left(`the plan is not JSON: ${(error as Error).message}`);
  }
  const checked = checkWorkflow(parsed, agentPaths(root), root.name, "$.plan");
  if (Either.isLeft(checked))
    return Either.left(
      `the plan is not a workflow of this tree: ${checked.left.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
    );
  const plan = checked.right;
  const nested = plan.steps.find((step) => step.plan);
  return nested
    ? Either.left(`$.plan: step ${nested.id} plans again; a plan runs steps, not plans`)
    : Either.right(plan);
};
