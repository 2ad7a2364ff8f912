import { getSql } from '../../db/client';
import { waitlistLimits } from '../../domain/config';
import * as waitlist from '../../domain/waitlist';
import { offerFreedSeats } from '../../domain/waitlist-offers';
import { routes } from '../routes';
import { httpHandler } from './middleware';

export const joinWaitlist = httpHandler(routes.joinWaitlist, ({ db, caller, params, body }) =>
  waitlist.joinWaitlist(db, caller.id, params.scheduleId, body, waitlistLimits()),
);

export const listMyWaitlist = httpHandler(routes.listMyWaitlist, ({ db, caller, query }) =>
  waitlist.listMyEntries(db, caller.id, query.limit, query.cursor),
);

export const getWaitlistEntry = httpHandler(routes.getWaitlistEntry, ({ db, caller, params }) =>
  waitlist.getEntry(db, caller, params.id),
);

export const leaveWaitlist = httpHandler(
  routes.leaveWaitlist,
  async ({ db, caller, params, afterCommit }) => {
    const entry = await waitlist.leaveWaitlist(db, caller, params.id);
    // a declined offer's seats go to the next entry
    afterCommit(() => offerFreedSeats(getSql(), entry.scheduleId, waitlistLimits()));
    return entry;
  },
);
