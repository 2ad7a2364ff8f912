import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { isAvailable, SEAT_SIZE, type SeatModel, STAGE_HEIGHT } from './model';

/**
 * The seat map on a canvas (SVG would mean 50,000 DOM nodes): pan by dragging, zoom with the wheel
 * or the buttons, click a seat to select it. From the keyboard it is one focusable element: the
 * arrows move a cursor seat, Enter or Space selects it, + and - zoom, Page Up/Down jump between
 * sections; the cursor's seat is described in a live region beside it (SeatMapPanel).
 */
export const TIER_COLOURS = [
  '#6d28d9',
  '#1d4ed8',
  '#0e7490',
  '#15803d',
  '#a16207',
  '#c2410c',
  '#be185d',
  '#4338ca',
];
const TAKEN = '#d4d4d8';
const SELECTED = '#111827';
const CURSOR = '#f59e0b';

export interface SeatCanvasProps {
  model: SeatModel;
  available: Uint8Array | undefined;
  selected: ReadonlySet<number>;
  cursor: number | undefined;
  label: string;
  onCursor: (index: number) => void;
  onToggle: (index: number) => void;
  /** Once the first frame with seat statuses is drawn. */
  onReady?: () => void;
}

interface View {
  scale: number;
  x: number;
  y: number;
}

export function SeatCanvas(props: SeatCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ scale: 1, x: 0, y: 0 });
  const fitted = useRef(false);
  const frame = useRef(0);
  const latest = useRef(props);
  latest.current = props;
  const ready = useRef(false);

  const draw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => paint(canvas.current, view.current, latest.current, ready));
  };

  const showAll = () => {
    const el = canvas.current;
    if (!el) return;
    const { model } = latest.current;
    const scale = Math.min(el.clientWidth / (model.width + 4), el.clientHeight / (model.height + 4));
    view.current = {
      scale,
      x: (el.clientWidth - model.width * scale) / 2,
      y: (el.clientHeight - model.height * scale) / 2,
    };
    draw();
  };

  const zoomAt = (factor: number, sx: number, sy: number) => {
    const v = view.current;
    const scale = Math.min(80, Math.max(0.05, v.scale * factor));
    view.current = { scale, x: sx - ((sx - v.x) * scale) / v.scale, y: sy - ((sy - v.y) * scale) / v.scale };
    draw();
  };

  // size the backing store to the element (and the screen's pixel ratio)
  useLayoutEffect(() => {
    const el = canvas.current!;
    const resize = () => {
      const dpr = devicePixelRatio || 1;
      el.width = Math.round(el.clientWidth * dpr);
      el.height = Math.round(el.clientHeight * dpr);
      if (!fitted.current) {
        fitted.current = true;
        showAll();
      } else draw();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(el);
    resize();
    return () => observer.disconnect();
  }, []);

  useEffect(draw, [props.model, props.available, props.selected, props.cursor]);

  // keep the keyboard's seat in sight, close enough to tell seats apart (a click moves nothing)
  const byKeyboard = useRef(false);
  useEffect(() => {
    const el = canvas.current;
    if (props.cursor === undefined || !el || !byKeyboard.current) return;
    const v = view.current;
    if (v.scale < 12) zoomAt(14 / v.scale, ...screenOf(v, props.model, props.cursor));
    const [sx, sy] = screenOf(view.current, props.model, props.cursor);
    if (sx < 20 || sy < 20 || sx > el.clientWidth - 20 || sy > el.clientHeight - 20) {
      view.current = {
        ...view.current,
        x: view.current.x + el.clientWidth / 2 - sx,
        y: view.current.y + el.clientHeight / 2 - sy,
      };
      draw();
    }
  }, [props.cursor]);

  // wheel zoom needs a listener that may prevent the page's scroll
  useEffect(() => {
    const el = canvas.current!;
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      zoomAt(Math.exp(-e.deltaY * 0.002), e.offsetX, e.offsetY);
    };
    el.addEventListener('wheel', wheel, { passive: false });
    return () => el.removeEventListener('wheel', wheel);
  }, []);

  const drag = useRef<{ x: number; y: number; moved: boolean } | undefined>(undefined);
  const onPointerDown = (e: PointerEvent) => {
    byKeyboard.current = false;
    canvas.current!.setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, moved: false };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 5) return;
    d.moved = true;
    d.x = e.clientX;
    d.y = e.clientY;
    view.current = { ...view.current, x: view.current.x + dx, y: view.current.y + dy };
    draw();
  };
  const onPointerUp = (e: PointerEvent) => {
    const d = drag.current;
    drag.current = undefined;
    if (!d || d.moved) return;
    const v = view.current;
    const index = props.model.hit((e.offsetX - v.x) / v.scale, (e.offsetY - v.y) / v.scale);
    if (index < 0) return;
    props.onCursor(index);
    if (isAvailable(props.available, index) || props.selected.has(index)) props.onToggle(index);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const { model, cursor } = props;
    const el = canvas.current!;
    const keys: Record<string, () => void> = {
      ArrowLeft: () => props.onCursor(model.step(cursor!, 'left')),
      ArrowRight: () => props.onCursor(model.step(cursor!, 'right')),
      ArrowUp: () => props.onCursor(model.step(cursor!, 'up')),
      ArrowDown: () => props.onCursor(model.step(cursor!, 'down')),
      Home: () => props.onCursor(model.step(cursor!, 'home')),
      End: () => props.onCursor(model.step(cursor!, 'end')),
      PageUp: () => props.onCursor(model.stepSection(cursor!, -1)),
      PageDown: () => props.onCursor(model.stepSection(cursor!, 1)),
      Enter: () => props.onToggle(cursor!),
      ' ': () => props.onToggle(cursor!),
      '+': () => zoomAt(1.5, el.clientWidth / 2, el.clientHeight / 2),
      '=': () => zoomAt(1.5, el.clientWidth / 2, el.clientHeight / 2),
      '-': () => zoomAt(1 / 1.5, el.clientWidth / 2, el.clientHeight / 2),
      '0': showAll,
    };
    const action = keys[e.key];
    if (!action) return;
    e.preventDefault();
    byKeyboard.current = true;
    if (cursor === undefined && !'+=-0'.includes(e.key))
      props.onCursor(firstAvailable(model, props.available));
    else action();
  };

  const onFocus = () => {
    // focus by Tab (a click sets its own seat)
    if (props.cursor === undefined && !drag.current)
      props.onCursor(firstAvailable(props.model, props.available));
  };

  return (
    <div class="seat-canvas">
      {/* biome-ignore lint/a11y/noInteractiveElementToNoninteractiveRole: the map is one composite widget; `application` lets a screen reader pass the arrow keys to it */}
      <canvas
        ref={canvas}
        role="application"
        aria-roledescription="seat map"
        aria-label={props.label}
        aria-describedby="seat-map-help seat-map-cursor"
        tabIndex={0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => {
          drag.current = undefined;
        }}
        onKeyDown={onKeyDown}
        onFocus={onFocus}
      />
      <fieldset class="zoom" aria-label="Zoom">
        <button
          type="button"
          class="secondary"
          aria-label="Zoom in"
          onClick={() => zoomAt(1.5, ...centre(canvas.current))}
        >
          +
        </button>
        <button
          type="button"
          class="secondary"
          aria-label="Zoom out"
          onClick={() => zoomAt(1 / 1.5, ...centre(canvas.current))}
        >
          −
        </button>
        <button type="button" class="secondary" onClick={showAll}>
          Fit
        </button>
      </fieldset>
    </div>
  );
}

const centre = (el: HTMLCanvasElement | null): [number, number] => [
  (el?.clientWidth ?? 0) / 2,
  (el?.clientHeight ?? 0) / 2,
];

const screenOf = (v: View, model: SeatModel, index: number): [number, number] => [
  v.x + (model.seatX[index]! + SEAT_SIZE / 2) * v.scale,
  v.y + (model.seatY[index]! + SEAT_SIZE / 2) * v.scale,
];

function firstAvailable(model: SeatModel, available: Uint8Array | undefined): number {
  for (let i = 0; i < model.seatCount; i++) if (isAvailable(available, i)) return i;
  return 0;
}

function paint(
  el: HTMLCanvasElement | null,
  v: View,
  props: SeatCanvasProps,
  ready: { current: boolean },
): void {
  const ctx = el?.getContext('2d');
  if (!el || !ctx) return;
  const { model, available, selected, cursor } = props;
  const dpr = el.width / Math.max(1, el.clientWidth);
  // where the map is, for tools that point at seats (the browser tests)
  el.dataset.view = `${v.scale} ${v.x} ${v.y}`;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, el.width, el.height);
  ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.x, dpr * v.y);

  // the stage
  ctx.fillStyle = '#374151';
  ctx.fillRect(model.width * 0.2, 0, model.width * 0.6, STAGE_HEIGHT - 1);

  // the visible part of the map, in seat units
  const left = -v.x / v.scale;
  const top = -v.y / v.scale;
  const right = left + el.clientWidth / v.scale;
  const bottom = top + el.clientHeight / v.scale;

  // one path per colour: a few fills for 50,000 seats
  const tiers = model.seatTypes.map(() => new Path2D());
  const taken = new Path2D();
  const chosen = new Path2D();
  const size = SEAT_SIZE;
  const inset = size * 0.3;
  for (const row of model.rows) {
    if (row.y > bottom || row.y + size < top || row.x > right || row.x + row.count < left) continue;
    const from = Math.max(0, Math.floor(left - row.x) - 1);
    const to = Math.min(row.count, Math.ceil(right - row.x) + 1);
    for (let k = from; k < to; k++) {
      const i = row.first + k;
      const x = row.x + k;
      if (selected.has(i)) chosen.rect(x, row.y, size, size);
      else if (isAvailable(available, i)) tiers[model.seatTier[i]!]!.rect(x, row.y, size, size);
      // taken: smaller and grey, so that it differs by shape as well as colour
      else taken.rect(x + inset / 2, row.y + inset / 2, size - inset, size - inset);
    }
  }
  ctx.fillStyle = TAKEN;
  ctx.fill(taken);
  for (const [t, path] of tiers.entries()) {
    ctx.fillStyle = TIER_COLOURS[t % TIER_COLOURS.length]!;
    ctx.fill(path);
  }
  ctx.fillStyle = SELECTED;
  ctx.fill(chosen);
  if (cursor !== undefined) {
    ctx.strokeStyle = CURSOR;
    ctx.lineWidth = Math.max(0.15, 2 / v.scale);
    ctx.strokeRect(model.seatX[cursor]! - 0.1, model.seatY[cursor]! - 0.1, size + 0.2, size + 0.2);
  }

  // labels in screen pixels, once they are big enough to read
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#f9fafb';
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText('STAGE', v.x + (model.width / 2) * v.scale, v.y + ((STAGE_HEIGHT - 1) / 2) * v.scale);
  if (v.scale >= 3) {
    ctx.fillStyle = '#1f2937';
    for (const section of model.sections)
      ctx.fillText(
        section.name,
        v.x + (section.x + section.width / 2) * v.scale,
        v.y + (section.y + 1) * v.scale,
      );
  }
  if (v.scale >= 14) {
    ctx.textAlign = 'right';
    ctx.font = '11px system-ui, sans-serif';
    for (const row of model.rows)
      ctx.fillText(row.label, v.x + (row.x - 0.3) * v.scale, v.y + (row.y + size / 2) * v.scale);
  }
  if (available && !ready.current) {
    ready.current = true;
    props.onReady?.();
  }
}
