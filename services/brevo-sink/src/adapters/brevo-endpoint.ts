/**
 * A Brevo request's endpoint as a metric label: method and path template, so ids, emails and
 * list numbers never become label values (unbounded series, and PII in /metrics).
 */
const TEMPLATES: readonly [RegExp, string][] = [
  [/^\/contacts\/lists\/\d+\/contacts\/(add|remove)$/, "/contacts/lists/{listId}/contacts/$1"],
  [/^\/contacts\/lists\/\d+$/, "/contacts/lists/{listId}"],
  [/^\/contacts\/attributes\/([^/]+)\/[^/]+$/, "/contacts/attributes/$1/{attributeName}"],
  [/^\/processes\/\d+$/, "/processes/{processId}"],
  [/^\/contacts\/(?!import$|batch$|lists$|attributes$|folders$)[^/]+$/, "/contacts/{identifier}"],
];

export function endpointOf(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return `${method.toUpperCase()} unknown`;
  }
  // The API's own paths start after its version prefix (`/v3`), whatever base URL is configured.
  const at = path.indexOf("/v3/");
  if (at >= 0) path = path.slice(at + 3);
  for (const [pattern, template] of TEMPLATES) {
    if (pattern.test(path)) {
      path = path.replace(pattern, template);
      break;
    }
  }
  return `${method.toUpperCase()} ${path}`;
}
