// What the widget and the console keep in `sessionStorage` between page loads: the session
// id and the resume token (never page content). One JSON value per key.

/** The value stored under `key`, or null when there is none or it cannot be read. */
export function loadStored<T>(key: string): T | null {
  try {
    const v = sessionStorage.getItem(key);
    return v === null ? null : (JSON.parse(v) as T);
  } catch {
    return null;
  }
}

/** Stores `value` under `key` as JSON. */
export function saveStored<T>(key: string, value: T): void {
  sessionStorage.setItem(key, JSON.stringify(value));
}
