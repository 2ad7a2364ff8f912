import { useState } from 'preact/hooks';
import { ApiError } from '../shared/api';
import { errorText } from '../shared/hooks';

/** A form's submit: the form's fields in, busy while the API works, the problem it answered kept. */
export function useSubmit(action: (form: FormData) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await action(new FormData(e.currentTarget as HTMLFormElement));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { submit, busy, error };
}

/** What the API refused, and for VALIDATION_FAILED each bad field with its message. */
export function Problem(props: { error: unknown }) {
  if (!props.error) return null;
  const fields =
    props.error instanceof ApiError && Array.isArray(props.error.problem.errors)
      ? (props.error.problem.errors as { field?: string; message?: string }[])
      : [];
  return (
    <div role="alert" class="error">
      <p>{errorText(props.error)}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => (
            <li key={`${f.field}${f.message}`}>
              {f.field?.replace(/^body\./, '')}: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
