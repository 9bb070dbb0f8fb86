/**
 * Exact rational arithmetic for money derivations.
 *
 * MRR multiplies integer minor units by factors such as 52/12 or 1/3 and by percentages such
 * as 33.33 %, then rounds once at the end. Doing that in floating point makes `x.5` land on
 * either side of the rounding boundary depending on the order of the additions; with exact
 * fractions the result depends only on the facts.
 */
export interface Ratio {
  readonly num: bigint;
  /** Always > 0. */
  readonly den: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) {
    [x, y] = [y, x % y];
  }
  return x;
};

export const ratio = (num: bigint | number, den: bigint | number = 1n): Ratio => {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d === 0n) throw new RangeError("ratio: zero denominator");
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1n ? { num: n / g, den: d / g } : { num: n, den: d };
};

export const ZERO: Ratio = { num: 0n, den: 1n };
export const ONE: Ratio = { num: 1n, den: 1n };

export const add = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.den + b.num * a.den, a.den * b.den);
export const sub = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.den - b.num * a.den, a.den * b.den);
export const mul = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.num, a.den * b.den);
export const div = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.den, a.den * b.num);
export const isNegative = (a: Ratio): boolean => a.num < 0n;
export const max = (a: Ratio, b: Ratio): Ratio => (sub(a, b).num >= 0n ? a : b);

/** Rounds half away from zero (1.5 → 2, −1.5 → −2), the rule DOMAIN.md §2 asks for. */
export const roundHalfAwayFromZero = (a: Ratio): number => {
  const abs = a.num < 0n ? -a.num : a.num;
  const rounded = (2n * abs + a.den) / (2n * a.den);
  return Number(a.num < 0n ? -rounded : rounded);
};

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string such as Stripe's `unit_amount_decimal` ("1234.5678") exactly.
 * Returns null for anything else so a malformed value never becomes a silent zero.
 */
export const fromDecimalString = (text: string): Ratio | null => {
  const match = DECIMAL.exec(text.trim());
  if (!match) return null;
  const [, sign = "", whole = "0", fraction = ""] = match;
  const num = BigInt(`${whole}${fraction}`) * (sign === "-" ? -1n : 1n);
  return ratio(num, 10n ** BigInt(fraction.length));
};

/**
 * Converts a JSON number (e.g. `percent_off: 33.33`) to the decimal it was written as:
 * the shortest round-trip representation is what the sender typed, not the binary float.
 */
export const fromNumber = (value: number): Ratio => {
  if (!Number.isFinite(value)) throw new RangeError(`ratio: not finite: ${value}`);
  if (Number.isInteger(value)) return ratio(BigInt(value));
  const exact = fromDecimalString(String(value));
  // Exponent notation only occurs for |x| < 1e-6 or huge numbers; a micro-unit grid is ample there.
  return exact ?? ratio(BigInt(Math.round(value * 1e9)), 1_000_000_000n);
};
