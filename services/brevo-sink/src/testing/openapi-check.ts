/**
 * A small JSON-schema check for the parts of Brevo's OpenAPI document the fake serves: $ref,
 * type, properties, required, additionalProperties, items, enum, oneOf/anyOf, min/max items,
 * minProperties. `format` is not checked. `oneOf` is checked as anyOf, and an object option
 * only matches a value carrying one of its properties: the document's list bodies are oneOf
 * schemas without `required`, which any object would otherwise match.
 */
export type Schema = Record<string, unknown>;

export interface OpenApi {
  readonly paths: Record<string, Record<string, Schema>>;
  readonly components: { schemas: Record<string, Schema>; responses: Record<string, Schema> };
}

export function resolve(doc: OpenApi, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 10 && typeof s["$ref"] === "string"; i++) {
    const [, , kind, name] = (s["$ref"] as string).split("/");
    const target = kind === "responses" ? doc.components.responses[name ?? ""] : doc.components.schemas[name ?? ""];
    if (target === undefined) throw new Error(`unresolved ${String(s["$ref"])}`);
    s = target;
  }
  return s;
}

export function validate(doc: OpenApi, schema: Schema, value: unknown, path = "$"): string[] {
  const s = resolve(doc, schema);
  const errors: string[] = [];
  for (const key of ["oneOf", "anyOf"] as const) {
    const options = s[key] as Schema[] | undefined;
    if (options && !options.some((o) => carries(doc, o, value) && validate(doc, o, value, path).length === 0)) {
      errors.push(`${path}: matches none of ${key}`);
    }
  }
  if (Array.isArray(s["enum"]) && !(s["enum"] as unknown[]).includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  }
  const type = s["type"] as string | undefined;
  const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  if (type !== undefined) {
    const ok =
      type === actual ||
      (type === "integer" && typeof value === "number" && Number.isInteger(value)) ||
      (type === "number" && typeof value === "number");
    if (!ok) return [...errors, `${path}: expected ${type}, got ${actual}`];
  }
  if (actual === "object" && (type === "object" || s["properties"] !== undefined)) {
    const obj = value as Record<string, unknown>;
    const props = (s["properties"] ?? {}) as Record<string, Schema>;
    for (const r of (s["required"] as string[] | undefined) ?? [])
      if (!(r in obj)) errors.push(`${path}.${r}: required`);
    if (typeof s["minProperties"] === "number" && Object.keys(obj).length < s["minProperties"]) {
      errors.push(`${path}: fewer than ${s["minProperties"]} properties`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const p = props[k];
      if (p !== undefined) errors.push(...validate(doc, p, v, `${path}.${k}`));
      else if (s["additionalProperties"] === false) errors.push(`${path}.${k}: not allowed`);
      else if (typeof s["additionalProperties"] === "object") {
        errors.push(...validate(doc, s["additionalProperties"] as Schema, v, `${path}.${k}`));
      }
    }
  }
  if (actual === "array" && s["items"] !== undefined) {
    const arr = value as unknown[];
    if (typeof s["maxItems"] === "number" && arr.length > s["maxItems"])
      errors.push(`${path}: more than ${s["maxItems"]} items`);
    if (typeof s["minItems"] === "number" && arr.length < s["minItems"])
      errors.push(`${path}: fewer than ${s["minItems"]} items`);
    for (const [i, item] of arr.entries()) errors.push(...validate(doc, s["items"] as Schema, item, `${path}[${i}]`));
  }
  return errors;
}

function carries(doc: OpenApi, option: Schema, value: unknown): boolean {
  const props = resolve(doc, option)["properties"] as Record<string, unknown> | undefined;
  if (props === undefined || typeof value !== "object" || value === null || Array.isArray(value)) return true;
  return Object.keys(props).some((k) => k in value);
}

/** The operation with this operationId: its path, method and definition. */
export function operation(doc: OpenApi, operationId: string): { path: string; method: string; op: Schema } {
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op["operationId"] === operationId) return { path, method, op };
    }
  }
  throw new Error(`no operation ${operationId} in the document`);
}

const jsonSchemaOf = (doc: OpenApi, holder: Schema | undefined): Schema | undefined => {
  if (holder === undefined) return undefined;
  const resolved = resolve(doc, holder);
  const content = resolved["content"] as Record<string, { schema?: Schema }> | undefined;
  return content?.["application/json"]?.schema;
};

export const requestSchema = (doc: OpenApi, op: Schema): Schema | undefined =>
  jsonSchemaOf(doc, op["requestBody"] as Schema | undefined);

export function responseSchema(
  doc: OpenApi,
  op: Schema,
  status: number,
): { declared: boolean; schema: Schema | undefined } {
  const responses = op["responses"] as Record<string, Schema>;
  const r = responses[String(status)];
  return { declared: r !== undefined, schema: jsonSchemaOf(doc, r) };
}
