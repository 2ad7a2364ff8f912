import { useState } from 'preact/hooks';
import { isAvailable, type SeatModel } from './model';

/**
 * The list alternative to the canvas: a section, then a row, then that row's seats as checkboxes —
 * a screen reader's or a keyboard's way through a 50,000-seat venue without 50,000 controls.
 */
export function SeatList(props: {
  model: SeatModel;
  available: Uint8Array | undefined;
  selected: ReadonlySet<number>;
  priceOf: (index: number) => string | undefined;
  onToggle: (index: number) => void;
}) {
  const { model } = props;
  const [section, setSection] = useState(0);
  const [rowChoice, setRowChoice] = useState(model.sections[0]?.rows[0] ?? 0);
  const rows = model.sections[section]?.rows ?? [];
  const row = model.rows[rows.includes(rowChoice) ? rowChoice : (rows[0] ?? 0)];
  const freeIn = (first: number, count: number) => {
    let n = 0;
    for (let i = first; i < first + count; i++) if (isAvailable(props.available, i)) n++;
    return n;
  };
  return (
    <div class="seat-list">
      <div class="row">
        <label>
          Section
          <select
            value={section}
            onChange={(e) => {
              const s = Number(e.currentTarget.value);
              setSection(s);
              setRowChoice(model.sections[s]?.rows[0] ?? 0);
            }}
          >
            {model.sections.map((s, i) => (
              <option key={s.name} value={i}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Row
          <select
            value={row ? model.rows.indexOf(row) : 0}
            onChange={(e) => setRowChoice(Number(e.currentTarget.value))}
          >
            {rows.map((r) => (
              <option key={r} value={r}>
                Row {model.rows[r]!.label} ({freeIn(model.rows[r]!.first, model.rows[r]!.count)} free)
              </option>
            ))}
          </select>
        </label>
      </div>
      {row && (
        <fieldset>
          <legend>
            {model.sections[row.section]!.name}, row {row.label}
          </legend>
          <ul class="seat-checkboxes">
            {Array.from({ length: row.count }, (_, k) => {
              const index = row.first + k;
              const seat = model.seat(index);
              const free = isAvailable(props.available, index);
              const chosen = props.selected.has(index);
              return (
                <li key={index}>
                  <label class={free ? '' : 'taken'}>
                    <input
                      type="checkbox"
                      checked={chosen}
                      disabled={!free && !chosen}
                      onChange={() => props.onToggle(index)}
                    />
                    Seat {seat.number} · {seat.seatType.toUpperCase()}
                    {props.priceOf(index) && ` · ${props.priceOf(index)}`}
                    {!free && !chosen && ' · taken'}
                  </label>
                </li>
              );
            })}
          </ul>
        </fieldset>
      )}
    </div>
  );
}
