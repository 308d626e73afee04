// Entry point of dist/cobrowse-console.js: the agent console.
export { startConsole, startIdOf } from './console/console.js';
export type { AgentConsole, ConsoleOptions } from './console/console.js';
