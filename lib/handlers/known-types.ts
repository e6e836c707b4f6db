import type { AppConfig } from '../config/load.js';
import { UnknownTaskTypeRefusedError } from './errors.js';
import type { HandlerRegistry } from './registry.js';

/**
 * The one rule for which task types the doors accept (ingest, POST /api/tasks, POST /api/messages,
 * taskctl enqueue): a type some handler here declares, or one listed in Handlers:ExtraTypes (served by
 * another deployment); any type when Handlers:AllowUnknownTypes is true.
 */
export interface TaskTypeRule {
  /** Declared and extra types, sorted. */
  readonly known: readonly string[];
  /** The types this deployment's own handlers declare (its processors serve them). */
  readonly declared: readonly string[];
  readonly allowUnknown: boolean;
  accepts(type: string): boolean;
  /** Throws UnknownTaskTypeRefusedError (naming the known types) for a type the rule refuses. */
  check(type: string): void;
  /** The types to accept, or undefined for any (what the ingest pipeline takes). */
  acceptList(): readonly string[] | undefined;
}

export function taskTypeRule(
  registry: Pick<HandlerRegistry, 'types'>,
  settings: Pick<AppConfig['Handlers'], 'AllowUnknownTypes' | 'ExtraTypes'>,
): TaskTypeRule {
  const known = [...new Set([...registry.types(), ...(settings.ExtraTypes ?? [])])].sort();
  const set = new Set(known);
  const allowUnknown = settings.AllowUnknownTypes;
  return {
    known,
    declared: [...registry.types()].sort(),
    allowUnknown,
    accepts: (type) => allowUnknown || set.has(type),
    check(type) {
      if (!allowUnknown && !set.has(type)) throw new UnknownTaskTypeRefusedError(type, known);
    },
    acceptList: () => (allowUnknown ? undefined : known),
  };
}
