/**
 * Minor → major units at the Brevo edge (DOMAIN.md §1). Stripe amounts are integers in the
 * currency's minor unit; Brevo float attributes are shown to marketers, who think in major units.
 */
const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

export const minorUnitDigits = (currency: string): number => {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL.has(c)) return 0;
  if (THREE_DECIMAL.has(c)) return 3;
  return 2;
};

/** 1999 usd → 19.99, 1999 jpy → 1999, 1999 kwd → 1.999; rounded to the currency's digits so no 0.1+0.2 noise. */
export const toMajorUnits = (minor: number, currency: string): number => {
  const digits = minorUnitDigits(currency);
  return Number((minor / 10 ** digits).toFixed(digits));
};
