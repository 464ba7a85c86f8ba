export { benchStack, type BenchStack } from './stack.js';
export { loadConnections } from './load-connections.js';
export { benchNumber, benchNumbers, type NumberRule } from './settings.js';
export { median, percentile, percentiles, type Percentiles } from './stats.js';
export { machineInfo, resultsDir, writeResult } from './results.js';
export {
  allProcesses,
  machineTimes,
  processCommandLine,
  processCwd,
  processStat,
  processTree,
  threadCpuSeconds,
  treeCpuSeconds,
  treeSystemSeconds,
  type ProcessStat,
} from './process-cpu.js';
export type { BenchSummary, SummaryGoal, SummaryRow, SummarySeries } from './summary.js';
