import * as reports from '../../db/reports';
import * as catalog from '../../domain/catalog';
import { notFound } from '../../domain/errors';
import { updateSchedule as updateSchedule_ } from '../../domain/schedules';
import { now } from '../adapters/clock';
import { routes } from '../routes';
import { httpHandler } from './middleware';
import { RawJson, WithStatus } from './responses';

export const createConcert = httpHandler(routes.createConcert, ({ db, body }) =>
  catalog.createConcert(db, body),
);

export const updateConcert = httpHandler(routes.updateConcert, ({ db, params, body }) =>
  catalog.updateConcert(db, params.id, body),
);

export const createVenue = httpHandler(routes.createVenue, ({ db, body }) => catalog.createVenue(db, body));

export const createSchedule = httpHandler(routes.createSchedule, ({ db, body }) =>
  catalog.createSchedule(db, body, now()),
);

export const updateSchedule = httpHandler(routes.updateSchedule, async ({ db, params, body }) => {
  const schedule = await updateSchedule_(db, params.id, body, now());
  // a cancel is accepted, not done: its orders are settled in the background
  return body.status === 'cancelled' ? new WithStatus(202, schedule) : schedule;
});

export const seatMap = httpHandler(
  routes.adminSeatMap,
  async ({ db, params, query }) => new RawJson(await catalog.getAdminSeatMapJson(db, params.id, query)),
);

export const scheduleReport = httpHandler(routes.scheduleReport, async ({ db, params }) => {
  const report = await reports.scheduleReport(db, params.id);
  if (!report) throw notFound('Schedule', params.id);
  return { scheduleId: params.id, ...report };
});

export const salesReport = httpHandler(routes.salesReport, ({ db, query }) =>
  reports.salesReport(db, query.groupBy, query.from, query.to),
);

export const reconciliation = httpHandler(routes.reconciliation, ({ db }) => reports.reconciliation(db));
