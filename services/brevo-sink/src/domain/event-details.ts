import { minorUnitDigits, toMajorUnits } from "./currency.ts";

/**
 * Per-kind event properties a template needs beyond the flat fields (issue #20):
 *   checkout.session  line_items (from the enricher's record), line_items_count, recovery_url
 *   invoice           line_items (from `lines`), plan_names
 *   payment_intent    failure_message (last_payment_error.message)
 *   card / source     card_brand, card_last4, card_expires (YYYY-MM-DD, the month's last day)
 * Line items are `{name, quantity, amount_total, amount_total_display}`; at most
 * MAX_EVENT_LINE_ITEMS, names cut at 200 characters, so an event stays far below Brevo's 50 KB
 * (`line_items_truncated: 1` says some were left out). Pure.
 */

export const MAX_EVENT_LINE_ITEMS = 50;
const MAX_NAME = 200;

type Props = Record<string, string | number | Record<string, string | number>[]>;
type Obj = Readonly<Record<string, unknown>>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The product's name when the price's product is expanded, else the price's nickname. */
const priceName = (price: unknown): string | undefined => {
  if (!isRecord(price)) return undefined;
  const product = price["product"];
  return (isRecord(product) ? text(product["name"]) : undefined) ?? text(price["nickname"]);
};

const lineItem = (item: Obj, fallbackCurrency: string | undefined): Record<string, string | number> => {
  const name = text(item["description"]) ?? priceName(item["price"]) ?? priceName(item["plan"]) ?? "item";
  const out: Record<string, string | number> = { name: name.slice(0, MAX_NAME) };
  if (Number.isInteger(item["quantity"])) out["quantity"] = item["quantity"] as number;
  const amount = Number.isInteger(item["amount_total"]) ? item["amount_total"] : item["amount"];
  const currency = text(item["currency"]) ?? fallbackCurrency;
  if (Number.isInteger(amount) && currency !== undefined) {
    out["amount_total"] = amount as number;
    out["amount_total_display"] = toMajorUnits(amount as number, currency).toFixed(minorUnitDigits(currency));
  }
  return out;
};

const itemsProps = (items: unknown, currency: string | undefined, props: Props, more = false): void => {
  if (!Array.isArray(items)) return;
  const records = items.filter(isRecord);
  props["line_items"] = records.slice(0, MAX_EVENT_LINE_ITEMS).map((i) => lineItem(i, currency));
  props["line_items_count"] = records.length;
  if (more || records.length > MAX_EVENT_LINE_ITEMS) props["line_items_truncated"] = 1;
};

/** Last day of the card's expiry month (a card is valid through it), as Brevo's date format. */
export const cardExpires = (month: unknown, year: unknown): string | undefined => {
  if (!Number.isInteger(month) || !Number.isInteger(year)) return undefined;
  const m = month as number;
  const y = year as number;
  if (m < 1 || m > 12 || y < 1970 || y > 9999) return undefined;
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};

export function detailProperties(o: Obj, currency: string | undefined): Props {
  const props: Props = {};
  switch (o["object"]) {
    case "checkout.session": {
      const enriched = o["sbs_line_items"];
      if (isRecord(enriched)) itemsProps(enriched["data"], currency, props, enriched["truncated"] === true);
      const after = o["after_expiration"];
      const recovery = isRecord(after) ? after["recovery"] : undefined;
      const url = isRecord(recovery) ? text(recovery["url"]) : undefined;
      if (url !== undefined) props["recovery_url"] = url;
      break;
    }
    case "invoice": {
      const lines = o["lines"];
      if (isRecord(lines)) {
        itemsProps(lines["data"], currency, props, lines["has_more"] === true);
        const names = new Set<string>();
        for (const l of Array.isArray(lines["data"]) ? lines["data"] : []) {
          const n = isRecord(l) ? (priceName(l["price"]) ?? priceName(l["plan"])) : undefined;
          if (n !== undefined) names.add(n.slice(0, MAX_NAME));
        }
        if (names.size > 0) props["plan_names"] = [...names].sort().join(", ");
      }
      break;
    }
    case "payment_intent": {
      const error = o["last_payment_error"];
      const message = isRecord(error) ? text(error["message"]) : undefined;
      if (message !== undefined) props["failure_message"] = message;
      break;
    }
    case "card":
    case "source": {
      const card = o["object"] === "source" && isRecord(o["card"]) ? o["card"] : o;
      const brand = text(card["brand"]);
      const last4 = text(card["last4"]);
      const expires = cardExpires(card["exp_month"], card["exp_year"]);
      if (brand !== undefined) props["card_brand"] = brand;
      if (last4 !== undefined) props["card_last4"] = last4;
      if (expires !== undefined) props["card_expires"] = expires;
      break;
    }
    default:
      break;
  }
  return props;
}
