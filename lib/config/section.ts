import { z } from 'zod';

/** One configuration section: its zod schema (with defaults), which keys hold secrets, and a line of docs per key. */
export interface SectionDefinition<S extends z.ZodObject = z.ZodObject, N extends string = string> {
  /** The section's name as settings spell it (`Name:Key`, `Name__Key`); kept literal so sections can be keyed by it. */
  name: N;
  schema: S;
  secrets: readonly string[];
  docs: Record<string, string>;
}

export function defineSection<S extends z.ZodObject, N extends string>(
  def: SectionDefinition<S, N>,
): SectionDefinition<S, N> {
  for (const key of Object.keys(def.schema.shape)) {
    if (!def.docs[key]) throw new Error(`config section ${def.name}: key ${key} has no docs line`);
  }
  return def;
}
