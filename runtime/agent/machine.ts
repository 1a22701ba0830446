/**
 * The statechart of parent and child agents: `idle` → `working` (the step runs as an invoked,
 * interruptible Effect fiber) → `idle`; a crash ends in the final state `crashed`, which the agent's
 * cell turns into a supervision decision. Stopping the actor interrupts the step's fiber.
 */
import { assign, fromCallback, setup } from "xstate";
import type { Envelope } from "./envelope.ts";
import type { StepOutcome } from "./step-outcome.ts";

/** What the machine needs from the cell that owns it. */
export interface MachineHost {
  /** Starts the step for `envelope`; `report` receives its outcome once; returns a canceller. */
  readonly runStep: (envelope: Envelope, report: (outcome: StepOutcome) => void) => () => void;
  readonly finish: (envelope: Envelope, outcome: StepOutcome) => void;
  readonly idle: () => void;
  readonly crashed: (reason: string) => void;
}

type StepEvent = { readonly type: "STEP"; readonly outcome: StepOutcome };

export const agentMachine = setup({
  types: {} as {
    context: { host: MachineHost; envelope: Envelope | null; crash: string };
    input: { host: MachineHost };
    events: { type: "TASK"; envelope: Envelope } | StepEvent | { type: "KILL"; reason: string };
  },
  actors: {
    step: fromCallback<StepEvent, { host: MachineHost; envelope: Envelope }>(({ input, sendBack }) =>
      input.host.runStep(input.envelope, (outcome) => sendBack({ type: "STEP", outcome })),
    ),
  },
  guards: {
    crashedStep: ({ event }) => event.type === "STEP" && event.outcome._tag === "Crashed",
  },
}).createMachine({
  id: "agent",
  context: ({ input }) => ({ host: input.host, envelope: null, crash: "" }),
  initial: "idle",
  states: {
    idle: {
      entry: ({ context }) => context.host.idle(),
      on: { TASK: { target: "working", actions: assign({ envelope: ({ event }) => event.envelope }) } },
    },
    working: {
      invoke: { src: "step", input: ({ context }) => ({ host: context.host, envelope: context.envelope! }) },
      on: {
        STEP: [
          {
            guard: "crashedStep",
            target: "crashed",
            actions: assign({
              crash: ({ event }) => (event.outcome._tag === "Crashed" ? event.outcome.reason : "crashed"),
            }),
          },
          {
            target: "idle",
            actions: [
              ({ context, event }) => context.host.finish(context.envelope!, event.outcome),
              assign({ envelope: null }),
            ],
          },
        ],
      },
    },
    crashed: {
      type: "final",
      entry: ({ context }) => context.host.crashed(context.crash),
    },
  },
  on: { KILL: { target: ".crashed", actions: assign({ crash: ({ event }) => event.reason }) } },
});
