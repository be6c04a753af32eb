/**
 * Hides the password of a URL before it is printed, keeping the rest as written. Works on values
 * that are not valid URLs too (a setting refused because it cannot be parsed is printed as well):
 * whatever stands between `scheme://` (or the start) and the last `@` is the user information,
 * and everything after its first `:` is replaced. A password may hold `/`, `#` or `@` unescaped,
 * which is often why the value does not parse.
 */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value);
  const start = scheme ? scheme[0].length : 0;
  if (at < start) return value;
  const userinfo = value.slice(start, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return value;
  return `${value.slice(0, start)}${userinfo.slice(0, colon)}:***${value.slice(at)}`;
}
