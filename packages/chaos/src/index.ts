export { Acknowledgements, summarize, recoveryMs, median, type AuditSummary } from './audit.js';
export { Auditor, type Sighting } from './auditor.js';
export { Broker } from './broker.js';
export { auditArchive, auditCounts, readArchiveDir, type ArchiveAudit, type CountAudit } from './consumer-audit.js';
export { ConsumerStack } from './consumer-stack.js';
export { runLossControl, type LossControlResult } from './loss-control.js';
export { Pod } from './pod.js';
export { buildReport, formatDetails, formatDuration, formatTable, recoveryCell, type ChaosReport } from './report.js';
export { runScenario, resolveOptions } from './run-scenario.js';
export {
  ChaosUsageError,
  isScenarioName,
  scenarioNames,
  type ChaosEnvironment,
  type Check,
  type Fault,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario.js';
export { scenarios } from './scenarios/index.js';
export { Scope, killTrackedProcesses } from './scope.js';
