export { runLoad, type LoadOptions, type LoadResult, type LoadSnapshot } from './load.js';
export { Latencies } from './latency.js';
export { makePixel, seededRandom, eventMix, userAgents, publicAddresses, type Pixel } from './traffic.js';
export { fuzzCases, sendCase, answerProblem, type FuzzCase, type FuzzAnswer } from './fuzz.js';
export { probeTarget, TargetUnreachableError, UnreachableWatch } from './probe.js';
