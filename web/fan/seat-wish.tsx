import type { SeatModel } from './seat-map/model';

/** What a fan asks for without naming seats: how many, and optionally where and up to what price. */
export interface SeatWish {
  quantity: number;
  section?: string;
  seatType?: string;
  maxPrice?: string;
}

/** The wish a form of `SeatWishFields` was submitted with (blank fields left out). */
export function seatWishOf(event: Event): SeatWish {
  const form = new FormData(event.currentTarget as HTMLFormElement);
  const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
  return {
    quantity: Number(form.get('quantity')),
    section: text('section'),
    seatType: text('seatType'),
    maxPrice: text('maxPrice'),
  };
}

/** The fields of a seat wish, with the venue's sections and seat types: best N and the wait-list ask the same. */
export function SeatWishFields(props: { model: SeatModel }) {
  return (
    <div class="row">
      <label>
        Seats
        <select name="quantity" defaultValue="2">
          {[1, 2, 3, 4, 5, 6, 7, 8].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        Section
        <select name="section">
          <option value="">Any</option>
          {props.model.sections.map((s) => (
            <option key={s.name}>{s.name}</option>
          ))}
        </select>
      </label>
      <label>
        Type
        <select name="seatType">
          <option value="">Any</option>
          {props.model.seatTypes.map((t) => (
            <option key={t} value={t}>
              {t.toUpperCase()}
            </option>
          ))}
        </select>
      </label>
      <label>
        Up to (KRW)
        <input name="maxPrice" inputMode="numeric" pattern="\d+(\.\d{1,2})?" size={9} />
      </label>
    </div>
  );
}
