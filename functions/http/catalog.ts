import * as catalog from '../../domain/catalog';
import { routes } from '../routes';
import { httpHandler } from './middleware';
import { RawJson } from './responses';

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
  async ({ db, params }) => new RawJson(await catalog.getSeatMapJson(db, params.scheduleId)),
);

export const getAvailability = httpHandler(routes.getAvailability, ({ db, params }) =>
  catalog.getAvailability(db, params.scheduleId),
);
