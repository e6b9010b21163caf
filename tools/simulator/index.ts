/**
 * OpenHands simulator: a fake OpenHands HTTP server (V1 or V0 API) for tests and demos.
 * See README.md in this folder for routes, scenarios and deviations from the real server.
 */

export { parseScenario, SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenarios.js';
export { DEFAULT_REPOSITORY, pullRequestUrl } from './script.js';
export { startSimulator } from './server.js';
export type {
  ApiVersion,
  ConversationInfo,
  FailNextOptions,
  RequestLogEntry,
  Simulator,
  SimulatorOptions,
} from './types.js';
