/** The swap: `runSwap` and what its callers need (see run.ts). */
export { runSwap } from './run.js';
export { sessionsOn } from './plan.js';
export type { SwapOptions, SwapResult, SwapSessionResult, SwapTrigger } from './types.js';
