// wasi:config/store@0.2.0-draft-2024-09-27 for a transpiled component, from a plain object the
// platform builds (from its own settings, a secrets manager, environment variables...).
//
//   imports['wasi:config/store'] = createConfig({ imanage_base_url: 'https://...', ... });
//
// Values are strings, as the interface says; a number or boolean is turned into its text, and
// `undefined`/`null` leaves the key out. The object is copied: later changes to it are not seen.

export function createConfig(values) {
  const settings = new Map();
  for (const [key, value] of Object.entries(values ?? {})) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') {
      throw new TypeError(`config ${key}: a string is expected (JSON.stringify objects first)`);
    }
    settings.set(key, String(value));
  }
  return {
    /** `get: func(key) -> result<option<string>, error>`; a missing key is `undefined`. */
    get(key) {
      return settings.get(key);
    },
    /** `get-all: func() -> result<list<tuple<string, string>>, error>`. */
    getAll() {
      return [...settings];
    },
  };
}
