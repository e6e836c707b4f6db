/**
 * The few rhea internals the peer needs that rhea's typings do not declare, behind narrow types.
 * rhea auto-creates our end of a link when the client attaches, so link options cannot be passed;
 * the attach fields are set on the pending local attach frame instead (it is written on the next tick).
 */
import rhea from 'rhea';
import type { Delivery, Sender, link } from 'rhea';

interface LocalAttach {
  properties?: Record<string, unknown>;
  max_message_size?: number;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
}
interface LinkInternals {
  local: { attach: LocalAttach };
  credit: number;
  delivery_count: number;
}
interface SenderDrainInternals extends LinkInternals {
  _draining: boolean;
  _drained: boolean;
  _get_drain: () => boolean;
}
interface DeliveryInternals {
  remote_settled: boolean;
}

export function setLocalAttach(l: link, fields: LocalAttach): void {
  Object.assign((l as unknown as LinkInternals).local.attach, fields);
}

/** The absolute delivery count up to which the client has granted credit (its delivery-count + link-credit). */
export function creditLimit(sender: Sender): number {
  const s = sender as unknown as LinkInternals;
  return s.delivery_count + s.credit;
}

/**
 * rhea only echoes drain=true while credit is left; when the transfers already used it all, it sends a
 * flow without the flag and the SDK's receiveMessages() waits for its drain timeout and then closes the
 * link. AMQP 1.0 (2.6.7) wants the drain echoed either way, so answer it whenever a drain is pending.
 */
export function answerDrainEvenWithoutCredit(sender: Sender): void {
  const s = sender as unknown as SenderDrainInternals;
  s._get_drain = function drain(this: SenderDrainInternals) {
    if (!(this._draining && this._drained)) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    return true;
  };
}

/**
 * In rcv-settle-mode "second" the client never settles after us, so rhea would keep our settled
 * deliveries in the session's 2048-slot window for ever; mark them done once our disposition is queued.
 */
export function settleAndForget(delivery: Delivery, state: unknown = acceptedOutcome()): void {
  delivery.update(true, state);
  (delivery as unknown as DeliveryInternals).remote_settled = true;
}

interface OutcomeFactory {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
}

// Settling with an explicit outcome: without one, rhea encodes a null state that the client logs as unrecognised.
function acceptedOutcome(): unknown {
  return (rhea.message as unknown as OutcomeFactory).accepted().described();
}

/** A rejected outcome carrying an AMQP error: settling with it makes the SDK's settle call fail with that error. */
export function rejectedOutcome(error: { condition: string; message: string }): unknown {
  const factory = rhea.message as unknown as OutcomeFactory;
  return factory.rejected({ error: { condition: error.condition, description: error.message } }).described();
}
