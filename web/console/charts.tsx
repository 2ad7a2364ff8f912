import { useState } from 'preact/hooks';

/**
 * Two small charts drawn with SVG (no chart library): bars for comparing keys, one stacked bar for
 * parts of a whole. The drawing is hidden from screen readers; the same numbers are a table beside
 * it, which a sighted user can show too.
 */
export interface Bar {
  label: string;
  value: number;
  /** How the value reads (`₩1,200,000.00`); the number itself otherwise. */
  text?: string;
}

const BAR_HEIGHT = 22;
const GAP = 8;
const LABEL_WIDTH = 150;
const CHART_WIDTH = 640;

export function BarChart(props: { title: string; bars: Bar[]; columns: [string, string] }) {
  const max = Math.max(1, ...props.bars.map((b) => b.value));
  const height = props.bars.length * (BAR_HEIGHT + GAP) + GAP;
  const room = CHART_WIDTH - LABEL_WIDTH - 130;
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {props.bars.length === 0 ? (
        <p class="muted">No sales in this period.</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${CHART_WIDTH} ${height}`} width="100%" aria-hidden="true" focusable="false">
            {props.bars.map((bar, i) => {
              const y = GAP + i * (BAR_HEIGHT + GAP);
              const width = Math.max(2, (bar.value / max) * room);
              return (
                <g key={bar.label}>
                  <text x={LABEL_WIDTH - 8} y={y + BAR_HEIGHT * 0.7} text-anchor="end" class="chart-label">
                    {clip(bar.label, 22)}
                  </text>
                  <rect x={LABEL_WIDTH} y={y} width={width} height={BAR_HEIGHT} rx="3" class="chart-bar" />
                  <text x={LABEL_WIDTH + width + 6} y={y + BAR_HEIGHT * 0.7} class="chart-value">
                    {bar.text ?? bar.value.toLocaleString('en')}
                  </text>
                </g>
              );
            })}
          </svg>
          <DataTable
            caption={props.title}
            head={props.columns}
            rows={props.bars.map((b) => [b.label, b.text ?? b.value.toLocaleString('en')])}
          />
        </>
      )}
    </figure>
  );
}

export interface Part {
  label: string;
  value: number;
  /** A class naming its colour (`part-booked`), shared by the bar and the legend. */
  tone: string;
}

/** One bar split into parts of a whole (seats by status), with a legend that names the counts. */
export function StackedBar(props: { title: string; parts: Part[]; unit: string }) {
  const total = props.parts.reduce((n, p) => n + p.value, 0);
  let x = 0;
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox="0 0 640 36" width="100%" aria-hidden="true" focusable="false">
        <rect x="0" y="4" width="640" height="28" rx="4" class="part-empty" />
        {props.parts.map((part) => {
          const width = total ? (part.value / total) * 640 : 0;
          const rect = <rect key={part.label} x={x} y="4" width={width} height="28" class={part.tone} />;
          x += width;
          return rect;
        })}
      </svg>
      <ul class="legend" aria-hidden="true">
        {props.parts.map((part) => (
          <li key={part.label}>
            <span class={`swatch ${part.tone}`} /> {part.label}: {part.value.toLocaleString('en')}
          </li>
        ))}
      </ul>
      <DataTable
        caption={props.title}
        head={['Status', props.unit]}
        rows={[
          ...props.parts.map((p) => [p.label, p.value.toLocaleString('en')] as [string, string]),
          ['Total', total.toLocaleString('en')],
        ]}
      />
    </figure>
  );
}

/**
 * The chart's numbers as a table: always read by screen readers (visually hidden, not display:none),
 * shown on request for the eye.
 */
function DataTable(props: { caption: string; head: [string, string]; rows: [string, string][] }) {
  const [shown, setShown] = useState(false);
  return (
    <>
      <button type="button" class="link" aria-expanded={shown} onClick={() => setShown(!shown)}>
        {shown ? 'Hide the table' : 'Show as a table'}
      </button>
      <table class={shown ? 'data' : 'data visually-hidden'}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.head[0]}</th>
            <th scope="col" class="num">
              {props.head[1]}
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(([label, value]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td class="num">{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const clip = (text: string, length: number) =>
  text.length > length ? `${text.slice(0, length - 1)}…` : text;
