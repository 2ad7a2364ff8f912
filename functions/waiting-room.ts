import type { Db } from '../db/client';
import { AdmissionStates } from '../domain/waiting-room';

/**
 * This container's view of the waiting rooms, at most a second old: the polls and the order checks
 * of a second cost one read per schedule, whatever the crowd.
 */
export const admissionStates = new AdmissionStates(1000);

/** Tests start each case from an empty cache. */
export function forgetAdmissionStates(): void {
  admissionStates.forget();
}

/** Whether the schedule's waiting room is on, as this container last saw it. */
export async function roomIsOn(db: Db, scheduleId: number, at: Date): Promise<boolean> {
  return (await admissionStates.get(db, scheduleId, at))?.enabled ?? false;
}
