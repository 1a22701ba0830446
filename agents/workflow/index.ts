/** Workflows: steps over a tree's agents, as data, validated with the spec and run as asks. */
export { approvalStepTool } from "./approval-step.ts";
export { type BuilderApproval, type BuilderStep, WorkflowBuilder, workflow } from "./builder.ts";
export { workflowsPlugin } from "./plugin.ts";
export {
  NoWorkflow,
  type RunWorkflowOptions,
  runWorkflow,
  type StepOutcome,
  type WorkflowResult,
} from "./run.ts";
export { ApprovalSpec, type Condition, type StepSpec, WorkflowSpec } from "./schema.ts";
export { validateWorkflow } from "./validate.ts";
