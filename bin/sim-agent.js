#!/usr/bin/env node
// The simulated Claude Code agent used by `claude-failover demo` and the tests (see
// src/sim/agent.ts). It needs no login and no network.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/sim-agent.js');
