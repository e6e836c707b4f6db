/**
 * Worker ids live in this process. Two workers of one process never share an id (concurrent serverless
 * invocations share the process's identity): a worker adopts tasks Assigned to its id, so a shared id
 * would let two of them run one lease.
 */
const activeIds = new Set<string>();

/** The identity's id, or `<id>.2`, `<id>.3`, ... while a worker of this process holds it. */
export function reserveWorkerId(id: string): string {
  let candidate = id;
  for (let n = 2; activeIds.has(candidate); n++) candidate = `${id}.${n}`;
  activeIds.add(candidate);
  return candidate;
}

/** Frees an id reserved by a worker that has stopped. */
export function releaseWorkerId(id: string): void {
  activeIds.delete(id);
}
