/**
 * Custom list predicates from the config file, e.g. `total_spent >= 100000 and churned == false`.
 * Grammar (no parentheses; `and` binds tighter than `or`):
 *   expr := conj ("or" conj)* ; conj := cmp ("and" cmp)* ; cmp := field op literal
 *   op := >= > <= < == != ; literal := number | "string" | 'string' | true | false | null
 * Money fields compare in minor units of the contact's currency, as the read model stores them,
 * so a threshold does not depend on rounding.
 */
export type Literal = number | string | boolean | null;
export type Op = ">=" | ">" | "<=" | "<" | "==" | "!=";
export interface Comparison {
  readonly field: string;
  readonly op: Op;
  readonly value: Literal;
}
/** Disjunction of conjunctions. */
export type Predicate = readonly (readonly Comparison[])[];

const TOKEN = /\s*(>=|<=|==|!=|>|<|"[^"]*"|'[^']*'|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?)/y;

export type ParseResult = { ok: true; predicate: Predicate } | { ok: false; error: string };

export function parsePredicate(text: string, isField: (name: string) => boolean): ParseResult {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let rest = text.trim();
  if (rest === "") return { ok: false, error: "empty predicate" };
  while (rest.length > 0) {
    TOKEN.lastIndex = 0;
    const m = TOKEN.exec(rest);
    if (!m || m[1] === undefined) return { ok: false, error: `cannot read ${JSON.stringify(rest.trim())}` };
    tokens.push(m[1]);
    rest = rest.slice(TOKEN.lastIndex).trimStart();
  }
  const disjuncts: Comparison[][] = [[]];
  for (let i = 0; i < tokens.length; ) {
    const [field, op, raw] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (field === undefined || op === undefined || raw === undefined) {
      return {
        ok: false,
        error: `incomplete comparison at ${JSON.stringify(tokens.slice(i).join(" "))}: expected <field> <op> <value>`,
      };
    }
    if (!isField(field)) return { ok: false, error: `unknown field ${JSON.stringify(field)}` };
    if (!isOp(op)) return { ok: false, error: `unknown operator ${JSON.stringify(op)} (use >= > <= < == !=)` };
    const value = parseLiteral(raw);
    if (value === undefined) return { ok: false, error: `not a value: ${JSON.stringify(raw)}` };
    disjuncts[disjuncts.length - 1]?.push({ field, op, value });
    const joiner = tokens[i + 3];
    i += 4;
    if (joiner === undefined) break;
    if (joiner === "or") disjuncts.push([]);
    else if (joiner !== "and") return { ok: false, error: `expected "and" or "or", got ${JSON.stringify(joiner)}` };
    if (i >= tokens.length) return { ok: false, error: `dangling "${joiner}"` };
  }
  return { ok: true, predicate: disjuncts };
}

const isOp = (s: string): s is Op => [">=", ">", "<=", "<", "==", "!="].includes(s);

function parseLiteral(raw: string): Literal | undefined {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw === "null") return null;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if ((raw.startsWith('"') && raw.endsWith('"')) || (raw.startsWith("'") && raw.endsWith("'"))) return raw.slice(1, -1);
  return undefined;
}

/** Missing values (null) only satisfy `== null` / `!= <something>`: a customer with no MRR is not `mrr < 100`. */
export function evaluate(predicate: Predicate, lookup: (field: string) => Literal): boolean {
  return predicate.some((conj) => conj.every((c) => compare(lookup(c.field), c.op, c.value)));
}

function compare(left: Literal, op: Op, right: Literal): boolean {
  if (op === "==") return left === right;
  if (op === "!=") return left !== right;
  if (left === null || right === null || typeof left !== typeof right || typeof left === "boolean") return false;
  const l = left as number | string;
  const r = right as number | string;
  switch (op) {
    case ">=":
      return l >= r;
    case ">":
      return l > r;
    case "<=":
      return l <= r;
    case "<":
      return l < r;
  }
}
