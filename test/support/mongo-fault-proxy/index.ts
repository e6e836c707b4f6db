/** A fault-injecting MongoDB wire-protocol proxy for tests; see README.md. */
export {
  startFaultProxy,
  FaultProxy,
  ProxyTargetError,
  DuplicateRuleError,
  parseTarget,
  type FaultProxyControl,
  type FaultProxyOptions,
  type ProxyCounters,
} from './proxy.js';
export {
  RemoteFaultProxy,
  SpawnedFaultProxy,
  spawnFaultProxy,
  serveControl,
  FaultProxyControlError,
  FaultProxyStartError,
  FAULT_PROXY_MAIN,
  type SpawnFaultProxyOptions,
} from './control.js';
export {
  InvalidRuleError,
  parseRule,
  matchesRequest,
  HANDSHAKE_COMMANDS,
  FAULT_KINDS,
  type Fault,
  type FaultKind,
  type FaultRule,
  type RuleMatch,
  type RuleCounters,
} from './rules.js';
export {
  errorReply,
  cosmosThrottleMessage,
  KNOWN_SERVER_ERRORS,
  COSMOS_THROTTLED,
  type ErrorAnswer,
} from './server-errors.js';
export { WireProtocolError, type RequestInfo } from './wire.js';
