import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSql } from '../../db/client';
import { placeBestAvailable } from '../../domain/best-available';
import { checkoutOf, confirmPayment as confirmPayment_ } from '../../domain/checkout';
import { bookingLimits, getConfig, waitlistLimits } from '../../domain/config';
import * as orders from '../../domain/orders';
import { offerFreedSeats } from '../../domain/waitlist-offers';
import { checkoutGatewayFor, gatewayFor } from '../adapters/gateways';
import { metrics } from '../observability';
import { routes } from '../routes';
import { httpHandler } from './middleware';

export const createOrder = httpHandler(routes.createOrder, async ({ db, caller, body }) => {
  try {
    const placed =
      'seatIds' in body
        ? await orders.placeOrder(db, caller.id, body, bookingLimits())
        : await placeBestAvailable(db, caller.id, body, bookingLimits());
    metrics.addMetric('OrdersCreated', MetricUnit.Count, 1);
    if (placed.expiredOrderIds.length)
      metrics.addMetric('HoldsExpired', MetricUnit.Count, placed.expiredOrderIds.length);
    return orders.orderResponse(placed.order);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SEAT_UNAVAILABLE' || code === 'SOLD_OUT')
      metrics.addMetric('SeatConflicts', MetricUnit.Count, 1);
    throw error;
  }
});

export const getOrder = httpHandler(routes.getOrder, async ({ db, caller, params }) =>
  orders.orderResponse(await orders.getOrder(db, caller, params.orderId)),
);

export const listMyOrders = httpHandler(routes.listMyOrders, async ({ db, caller, query }) => {
  const page = await orders.listMyOrders(db, caller.id, query.limit, query.cursor);
  return { ...page, items: page.items.map(orders.orderResponse) };
});

export const startPayment = httpHandler(routes.startPayment, async ({ db, caller, params, body }) => {
  const payment = await orders.startPayment(db, caller, params.orderId, body.provider, bookingLimits());
  const checkout = await checkoutOf(db, payment, await checkoutGatewayFor(payment.provider));
  const { id, orderId, provider, amount, status } = payment;
  return { id, orderId, provider, amount, status: status as 'initiated', checkout };
});

export const cancelOrder = httpHandler(
  routes.cancelOrder,
  async ({ db, caller, params, body, afterCommit }) => {
    const order = await orders.cancelOrder(db, caller, params.orderId, body.itemIds);
    // with an Idempotency-Key the cancel commits with the key: the freed seats are offered after that
    afterCommit(() => offerFreedSeats(getSql(), order.scheduleId, waitlistLimits()));
    return orders.orderResponse(order);
  },
);

export const confirmPayment = httpHandler(routes.confirmPayment, async ({ db, caller, params, body }) =>
  orders.orderResponse(
    await confirmPayment_(db, caller, params.orderId, params.paymentId, body, gatewayFor, bookingLimits()),
  ),
);

export const extendHold = httpHandler(routes.extendHold, async ({ db, caller, params }) =>
  orders.orderResponse(
    await orders.extendHold(db, caller, params.orderId, getConfig().HOLD_EXTENSION_SECONDS),
  ),
);
