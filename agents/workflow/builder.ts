/**
 * A typed builder for workflows, for TypeScript users who would rather not write the spec by hand:
 * `dependsOn` may only name steps added before (a typo is a compile-time error), and `next` chains a
 * step after the one before it. `build()` gives the same data a spec file holds.
 *
 * ```ts
 * const flow = workflow({ concurrency: 2 })
 *   .step("plan", { agent: "planner", input: "Plan: {{input}}" })
 *   .step("research", { agent: "researcher", input: "{{steps.plan.output}}", dependsOn: ["plan"] })
 *   .step("build", { agent: "engineer", input: "{{steps.plan.output}}", dependsOn: ["plan"] })
 *   .step("review", { agent: "critic", input: "{{steps.research.output}}\n{{steps.build.output}}", dependsOn: ["research", "build"] })
 *   .approval("ok", { prompt: "Publish this? {{steps.review.output}}", dependsOn: ["review"] })
 *   .next("summary", { agent: "summarizer", input: "{{steps.review.output}}" })
 *   .build();
 * ```
 */
import type { StepSpec, WorkflowSpec } from "./schema.ts";

/** A step as the builder takes it: `dependsOn` names only steps added before. */
export type BuilderStep<Known extends string> = Omit<StepSpec, "id" | "dependsOn" | "when" | "approval"> & {
  readonly agent: string;
  readonly dependsOn?: ReadonlyArray<Known>;
  readonly when?: Omit<NonNullable<StepSpec["when"]>, "step"> & { readonly step: Known };
};

/** An approval step as the builder takes it: what the person is asked, and where it sits. */
export interface BuilderApproval<Known extends string> {
  readonly prompt: string;
  readonly dependsOn?: ReadonlyArray<Known>;
  readonly when?: BuilderStep<Known>["when"];
  /** A denial skips the step (output `denied…`) instead of failing the workflow. */
  readonly optional?: boolean;
}

export class WorkflowBuilder<Known extends string = never> {
  constructor(
    private readonly options: { readonly description?: string; readonly concurrency?: number },
    private readonly steps: ReadonlyArray<StepSpec> = [],
    private readonly result?: string,
  ) {}

  /** Adds a step that waits for the steps in its `dependsOn` (none: it starts at once). */
  step<Id extends string>(id: Id, step: BuilderStep<Known>): WorkflowBuilder<Known | Id> {
    return new WorkflowBuilder<Known | Id>(this.options, [...this.steps, { ...step, id }], this.result);
  }

  /** Adds a step after the last one added (a sequential pipeline). */
  next<Id extends string>(id: Id, step: Omit<BuilderStep<Known>, "dependsOn">): WorkflowBuilder<Known | Id> {
    const previous = this.steps[this.steps.length - 1]?.id;
    return new WorkflowBuilder<Known | Id>(
      this.options,
      [...this.steps, { ...step, id, ...(previous === undefined ? {} : { dependsOn: [previous] }) }],
      this.result,
    );
  }

  /**
   * Adds a step that waits for a person's decision (see `ApprovalSpec`): its output is `approved…`,
   * a denial fails it (or, with `optional`, skips it with output `denied…`).
   */
  approval<Id extends string>(id: Id, step: BuilderApproval<Known>): WorkflowBuilder<Known | Id> {
    const { prompt, ...rest } = step;
    return new WorkflowBuilder<Known | Id>(
      this.options,
      [...this.steps, { ...rest, id, approval: { prompt } }],
      this.result,
    );
  }

  /** The workflow's answer, as a template (default: the last step's output). */
  output(template: string): WorkflowBuilder<Known> {
    return new WorkflowBuilder<Known>(this.options, this.steps, template);
  }

  /** The workflow as spec data (put it in a tree spec's `workflow`). */
  build(): WorkflowSpec {
    return {
      ...this.options,
      steps: this.steps,
      ...(this.result === undefined ? {} : { output: this.result }),
    };
  }
}

/** Starts a workflow. */
export const workflow = (options: { readonly description?: string; readonly concurrency?: number } = {}) =>
  new WorkflowBuilder(options);
