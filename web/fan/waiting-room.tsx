import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type QueueStatus } from '../shared/api';
import { roughly } from '../shared/format';
import { errorText } from '../shared/hooks';

/**
 * The waiting room of a schedule whose room is on: join, then poll where you stand (polling
 * writes nothing on the server) until the admission arrives, then move on by yourself. The
 * admission is kept for this tab (sessionStorage) and sent as Admission-Token on POST /orders.
 */
export interface Admission {
  token: string;
  /** ms since the epoch: an admission lasts ADMISSION_TTL_SECONDS (600) on the server. */
  at: number;
}

const key = (scheduleId: number) => `admission.${scheduleId}`;
/** Short of the server's 600 s: an older one is refreshed by queueing again (the same place). */
const ADMISSION_KEPT_MS = 8 * 60_000;

export function admissionFor(scheduleId: number): Admission | undefined {
  try {
    const admission = JSON.parse(sessionStorage.getItem(key(scheduleId)) ?? 'null') as Admission | null;
    return admission && Date.now() - admission.at < ADMISSION_KEPT_MS ? admission : undefined;
  } catch {
    return undefined;
  }
}

export function forgetAdmission(scheduleId: number): void {
  sessionStorage.removeItem(key(scheduleId));
}

const POLL_MS = 2000;

export function WaitingRoom(props: {
  scheduleId: number;
  title: string;
  onAdmitted: (a: Admission) => void;
}) {
  const [status, setStatus] = useState<QueueStatus>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let queueToken: string | undefined;
    const poll = async () => {
      try {
        // joining again keeps the same place and gives a fresh queue token
        if (!queueToken) {
          const joined = await api.joinQueue(props.scheduleId);
          queueToken = joined.queueToken;
          if (!stopped)
            setStatus({
              position: joined.position,
              admittedThrough: 0,
              estimatedWaitSeconds: joined.estimatedWaitSeconds,
              soldOut: false,
            });
        }
        const now = await api.queueStatus(props.scheduleId, queueToken);
        if (stopped) return;
        setStatus(now);
        setError(undefined);
        if (now.admissionToken) {
          const admission = { token: now.admissionToken, at: Date.now() };
          sessionStorage.setItem(key(props.scheduleId), JSON.stringify(admission));
          props.onAdmitted(admission);
          return;
        }
      } catch (err) {
        if (err instanceof ApiError && err.code === 'QUEUE_TOKEN_INVALID') queueToken = undefined;
        else if (!stopped) setError(errorText(err));
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [props.scheduleId]);

  const ahead = status ? Math.max(0, status.position - status.admittedThrough - 1) : undefined;
  return (
    <section class="card waiting-room" aria-labelledby="waiting-title">
      <h2 id="waiting-title">You are in the waiting room for {props.title}</h2>
      <p>
        Many fans want these seats, so they are let in a few at a time, in the order they arrived. Keep this
        page open: it moves on by itself when it is your turn.
      </p>
      {status && (
        <dl class="queue" aria-live="polite">
          <dt>Your place in the queue</dt>
          <dd>
            <strong>{status.position.toLocaleString('en')}</strong>
          </dd>
          <dt>Fans ahead of you</dt>
          <dd>{ahead?.toLocaleString('en')}</dd>
          <dt>Estimated wait</dt>
          <dd>
            {status.soldOut
              ? 'Nobody is let in while every seat is taken; you keep your place in case seats come back.'
              : status.estimatedWaitSeconds === 0
                ? 'Your turn is now'
                : `${roughly(status.estimatedWaitSeconds)} at the current pace`}
          </dd>
        </dl>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
