import * as catalog from '../../domain/catalog';
import { routes } from '../routes';
import { httpHandler } from './middleware';
import { conditional, RawJson } from './responses';

export const listConcerts = httpHandler(routes.listConcerts, ({ db, query }) =>
  catalog.listConcerts(db, query),
);

export const getConcert = httpHandler(routes.getConcert, ({ db, params }) =>
  catalog.getConcert(db, params.concertId),
);

export const getSchedule = httpHandler(routes.getSchedule, ({ db, params }) =>
  catalog.getSchedule(db, params.scheduleId),
);

export const getSeatMap = httpHandler(
  routes.getSeatMap,
  async ({ db, params, query }) => new RawJson(await catalog.getSeatMapJson(db, params.scheduleId, query)),
);

export const getSeatStatus = httpHandler(routes.getSeatStatus, async ({ db, params, event }) => {
  const status = await catalog.getSeatStatus(db, params.scheduleId);
  return conditional(event, status.tag, () => status.body);
});

export const getVenueLayout = httpHandler(routes.getVenueLayout, async ({ db, params, event }) =>
  // the tag is one primary-key read: a 304 never builds the layout
  conditional(event, await catalog.venueLayoutTag(db, params.venueId), () =>
    catalog.getVenueLayout(db, params.venueId),
  ),
);

export const getAvailability = httpHandler(routes.getAvailability, ({ db, params }) =>
  catalog.getAvailability(db, params.scheduleId),
);
