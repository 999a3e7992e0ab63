/** The time as a command sees it: injected, so a test runs the decisions at a fixed `now`. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
