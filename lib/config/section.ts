import { z } from 'zod';

/** One configuration section: its zod schema (with defaults), which keys hold secrets, and a line of docs per key. */
export interface SectionDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  schema: S;
  secrets: readonly string[];
  docs: Record<string, string>;
}

export function defineSection<S extends z.ZodObject>(def: SectionDefinition<S>): SectionDefinition<S> {
  for (const key of Object.keys(def.schema.shape)) {
    if (!def.docs[key]) throw new Error(`config section ${def.name}: key ${key} has no docs line`);
  }
  return def;
}
