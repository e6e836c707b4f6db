/** A request the peer refuses, with the AMQP condition and the management status code Service Bus uses. */
export class PeerError extends Error {
  constructor(
    readonly condition: string,
    description: string,
    readonly status: number,
  ) {
    super(description);
    this.name = 'PeerError';
  }
}

export const lockLost = () =>
  new PeerError(
    'com.microsoft:message-lock-lost',
    'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
    410,
  );

export const sessionLockLost = (sessionId: string) =>
  new PeerError('com.microsoft:session-lock-lost', `The session lock has expired on the session '${sessionId}'.`, 410);

export const notFound = (what: string) =>
  new PeerError('amqp:not-found', `The messaging entity '${what}' could not be found.`, 404);
