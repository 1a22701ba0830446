/** Tripwires: step time, tokens and cost, tool calls, children, depth, spawn rate, output patterns, anomalies. */
export { type AnomalyVerdict, type AnomalyWindow, makeAnomalyWindow } from "./anomaly.ts";
export {
  forgetTree,
  makeTripwireMonitor,
  makeTripwireState,
  type TripwireMonitorOptions,
  type TripwireState,
} from "./monitor.ts";
export { tripwiresPlugin } from "./plugin.ts";
export {
  limitKeys,
  makeTripwiresSection,
  readTripwireConfig,
  readTripwireSettings,
  type TripwireSettings,
  tripwiresSection,
} from "./settings.ts";
