// Public surface of the arm64 cache model (src/model). See check.ts for the
// model's decomposition argument and line-explorer.ts for its state machine.
export {
  LITMUS_OPS,
  ScenarioError,
  embedHandoff,
  forEachStepLine,
  isMaintenanceOp,
  parseScenarioFile,
  referenceForCpu,
  referenceForDevice,
  validateScenario,
  type HandoffKind,
  type HandoffPath,
  type LineRange,
  type LitmusOp,
  type LitmusStep,
  type MaintenanceOp,
  type ModelResult,
  type Scenario,
  type WitnessEvent,
  type WitnessState,
} from './scenario.js';
export { checkScenario, lineProgram, staleReadSites } from './check.js';
export { bruteForce, bruteForceStaleReadSites } from './brute-force.js';
export { formatTimeline } from './timeline.js';
export { runModelCommand, scenarioFails, EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT } from './command.js';
