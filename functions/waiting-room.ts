import type { Db } from '../db/client';
import { type AdmissionState, AdmissionStates, readAdmissionState } from '../domain/waiting-room';

/**
 * This container's view of the waiting rooms, at most a second old: the polls and the order checks
 * of a second cost one read per schedule, whatever the crowd.
 */
const admissionStates = new AdmissionStates(1000);

/**
 * A schedule's admission state: the container's cached one, or — for a request inside a transaction
 * (a join with an Idempotency-Key) — read in that transaction. Not from the cache there: a Lambda
 * container has one connection, which the transaction holds, and a read shared with other requests
 * must not fail with one request's transaction.
 */
export function admissionState(db: Db, scheduleId: number, at: Date): Promise<AdmissionState | undefined> {
  return 'savepoint' in db ? readAdmissionState(db, scheduleId, at) : admissionStates.get(db, scheduleId, at);
}

/** Tests start each case from an empty cache. */
export function forgetAdmissionStates(): void {
  admissionStates.forget();
}
