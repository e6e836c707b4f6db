import type { Document, Filter } from 'mongodb';

/**
 * A query the code sends, with the sort it uses and the index it relies on. Declared beside the
 * indexes (pg-boss keeps its SQL in one place; this is the same idea), so that a coverage test can
 * call `filter` with `sample` arguments and check the named index against it.
 */
export interface QueryDeclaration<A extends unknown[], D extends Document> {
  name: string;
  /** An index name declared for the collection, or "_id" for the primary key. */
  index: string;
  filter: (...args: A) => Filter<D>;
  sort?: Record<string, 1 | -1>;
  sample: A;
}

/** Declares queries of one collection (keeps each filter's argument types). */
export const queryDeclarer =
  <D extends Document>() =>
  <A extends unknown[]>(q: QueryDeclaration<A, D>): QueryDeclaration<A, D> =>
    q;
