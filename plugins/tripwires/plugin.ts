/**
 * The tripwires plugin: owns the `tripwires` spec section and installs the monitor the agent step
 * reports to. Tripwires other plugins register (`registerTripwire`) apply to every agent.
 */
import { Effect } from "effect";
import { definePlugin, type Plugin } from "../../runtime/plugin.ts";
import { makeTripwireMonitor, makeTripwireState } from "./monitor.ts";
import { tripwiresSection } from "./settings.ts";

/** The tripwires plugin value. */
export const tripwiresPlugin: Plugin = definePlugin({
  name: "tripwires",
  version: "0.1.0",
  setup: (host) =>
    Effect.gen(function* () {
      yield* host.registerSpecSection(tripwiresSection);
      const state = makeTripwireState();
      yield* host.installTripwireMonitor((tripwires) =>
        makeTripwireMonitor({ events: host.events, definitions: tripwires.all, state }),
      );
    }),
});
