import type * as z from 'zod/mini';
import type * as s from '../../functions/schemas';
import { call } from '../shared/api';

/** The admin routes (API.md, "Admin"), typed from the server's own contract; the console's only door. */
export type AdminConcert = z.output<typeof s.AdminConcert>;
export type CreateConcert = z.input<typeof s.CreateConcertBody>;
export type CreateVenue = z.input<typeof s.CreateVenueBody>;
export type Venue = z.output<typeof s.VenueCreated>;
export type CreateSchedule = z.input<typeof s.CreateScheduleBody>;
export type UpdateSchedule = z.input<typeof s.UpdateScheduleBody>;
export type AdminSchedule = z.output<typeof s.AdminSchedule>;
export type ScheduleStatus = AdminSchedule['status'];
export type Cancellation = NonNullable<AdminSchedule['cancellation']>;
export type ScheduleReport = z.output<typeof s.ScheduleReport>;
export type SalesReport = z.output<typeof s.SalesReport>;
export type Reconciliation = z.output<typeof s.Reconciliation>;

const post = <T>(path: string, body: unknown) => call<T>('POST', path, { body });
const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, { body });
const query = (params: Record<string, string | undefined>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
  return search.toString();
};

export const admin = {
  createConcert: (body: CreateConcert) => post<AdminConcert>('/admin/concerts', body),
  updateConcert: (id: number, body: Partial<CreateConcert>) =>
    patch<AdminConcert>(`/admin/concerts/${id}`, body),
  createVenue: (body: CreateVenue) => post<Venue>('/admin/venues', body),
  createSchedule: (body: CreateSchedule) => post<AdminSchedule>('/admin/schedules', body),
  /**
   * Opens, closes or cancels sales, or sets the waiting room. Cancelling answers 202 at once while a
   * job cancels the orders; sending the cancel again answers the job's progress (`cancellation`).
   */
  updateSchedule: (id: number, body: UpdateSchedule) => patch<AdminSchedule>(`/admin/schedules/${id}`, body),
  scheduleReport: (id: number) => call<ScheduleReport>('GET', `/admin/reports/schedules/${id}`),
  salesReport: (groupBy: 'genre' | 'artist', from?: string, to?: string) =>
    call<SalesReport>('GET', `/admin/reports/sales?${query({ groupBy, from, to })}`),
  reconciliation: () => call<Reconciliation>('GET', '/admin/reports/reconciliation'),
};
