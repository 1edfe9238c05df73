/**
 * Synthetic retail sales for the demo tenant: daily unit sales of one product family in
 * 3 regions × 20 stores, with the six features the demo models read (API.md's example order).
 * Deterministic (seeded), so every fresh install gets the same demo and the docs' numbers hold.
 */

import { mulberry32 } from '../common/seeded-random';

export const DEMO_FEATURES = ['day_of_week', 'promo', 'price', 'lag_7', 'lag_28', 'temperature'] as const;

export interface DemoRegion {
  name: string;
  /** Mean temperature (°C) and seasonal swing. */
  meanTemp: number;
  tempSwing: number;
}

export const DEMO_REGIONS: readonly DemoRegion[] = [
  { name: 'north', meanTemp: 9, tempSwing: 9 },
  { name: 'south', meanTemp: 19, tempSwing: 8 },
  { name: 'west', meanTemp: 14, tempSwing: 6 },
];

export const STORES_PER_REGION = 20;
/** History per store: 4 weeks that only warm up the lags, 48 weeks to train on, 8 held out to compare the families. */
const WARMUP_DAYS = 28;
export const TRAIN_DAYS = 336;
export const HOLDOUT_DAYS = 56;
const HISTORY_DAYS = WARMUP_DAYS + TRAIN_DAYS + HOLDOUT_DAYS;
/** The forecast horizon written to the demo CSV, starting the day after the history ends. */
export const FORECAST_DAYS = 7;
/** The first forecast day (API.md's batch example is data/sales-2026-11-24.csv). */
export const FORECAST_START = '2026-11-24';
/** Stores in the CSV that have no model of their own, so the batch run shows the regional fallback. */
export const NEW_STORES_PER_REGION = 1;

/** One day of one store: the features in DEMO_FEATURES order, and what really sold. */
export interface DemoRow {
  date: string;
  features: number[];
  sales: number;
}

export interface DemoStore {
  region: string;
  /** Four digits, unique across regions ("0042"). */
  store: string;
  /** True for the stores that opened after training: CSV rows only, no model. */
  isNew: boolean;
  history: DemoRow[];
  /** The next FORECAST_DAYS days: features known in advance (plan, weather forecast, lags); sales unknown. */
  forecast: Array<Omit<DemoRow, 'sales'>>;
}

/** Monday = 0 … Sunday = 6: weekends sell more. */
const DOW_FACTOR = [0.88, 0.84, 0.9, 0.96, 1.12, 1.38, 1.22];
const DAY_MS = 86_400_000;

/** Deterministic random numbers (mulberry32). */
export const seededRandom = mulberry32;

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function storeCode(n: number): string {
  return String(n).padStart(4, '0');
}

/**
 * Generates every store's history and forecast week. Sales follow a slowly drifting level
 * (so lag_7 and lag_28 carry signal), a weekly pattern, price elasticity, a promo uplift and
 * a warm-weather effect above 18 °C: partly non-linear, so the tree family wins some stores.
 */
export function generateRetailData(seed = 20261124): DemoStore[] {
  const stores: DemoStore[] = [];
  const totalDays = HISTORY_DAYS + FORECAST_DAYS;
  const firstDay = Date.parse(`${FORECAST_START}T00:00:00Z`) - HISTORY_DAYS * DAY_MS;
  DEMO_REGIONS.forEach((region, r) => {
    const weatherRand = seededRandom(seed + 1000 * (r + 1));
    const temps = Array.from({ length: totalDays }, (_, t) => {
      const day = new Date(firstDay + t * DAY_MS);
      const dayOfYear = (day.getTime() - Date.UTC(day.getUTCFullYear(), 0, 1)) / DAY_MS;
      return round2(region.meanTemp + region.tempSwing * Math.sin((2 * Math.PI * (dayOfYear - 110)) / 365) + 2 * gaussian(weatherRand));
    });
    for (let s = 0; s < STORES_PER_REGION + NEW_STORES_PER_REGION; s++) {
      const isNew = s >= STORES_PER_REGION;
      // Stores 0001–0060 have models (north, south, west in turn); 0061–0063 opened since.
      const number = isNew ? DEMO_REGIONS.length * STORES_PER_REGION + r + 1 : r * STORES_PER_REGION + s + 1;
      const rand = seededRandom(seed + number * 7919);
      const base = 40 + rand() * 120;
      const basePrice = round2(2.49 + rand() * 3.5);
      const elasticity = 0.8 + rand() * 1.4;
      const promoLift = 1.1 + rand() * 0.35;
      const heatLift = rand() < 0.5 ? 0 : rand() * 0.9;
      const promoRate = 0.1 + rand() * 0.15;
      // Stores differ in how much the weekday matters and in how noisy they are: in the calm,
      // noisy ones a straight line is hard to beat, in the peaky ones trees do better.
      const weekly = 0.15 + rand() * 0.85;
      const noise = 0.8 + rand() * 1.6;
      let level = base;
      const sales: number[] = [];
      const rows: DemoRow[] = [];
      for (let t = 0; t < totalDays; t++) {
        const date = new Date(firstDay + t * DAY_MS);
        const dow = (date.getUTCDay() + 6) % 7;
        const promo = rand() < promoRate ? 1 : 0;
        const price = round2(basePrice * (promo ? 0.75 + rand() * 0.1 : 0.97 + rand() * 0.06));
        const temp = temps[t];
        level = Math.max(0.5 * base, Math.min(1.6 * base, level + 0.9 * gaussian(rand) + 0.002 * (base - level) * 10));
        const mean =
          level *
          (1 + weekly * (DOW_FACTOR[dow] - 1)) *
          Math.pow(price / basePrice, -elasticity) *
          (promo ? promoLift : 1) *
          (1 + (heatLift * Math.max(0, temp - 18)) / 12);
        const sold = Math.max(0, Math.round(mean + gaussian(rand) * Math.sqrt(mean) * noise));
        sales.push(sold);
        const lag7 = t >= 7 ? sales[t - 7] : Math.round(mean);
        const lag28 = t >= 28 ? sales[t - 28] : Math.round(mean);
        rows.push({ date: date.toISOString().slice(0, 10), features: [dow, promo, price, lag7, lag28, temp], sales: sold });
      }
      stores.push({
        region: region.name,
        store: storeCode(number),
        isNew,
        history: rows.slice(WARMUP_DAYS, HISTORY_DAYS),
        forecast: rows.slice(HISTORY_DAYS).map(({ date, features }) => ({ date, features })),
      });
    }
  });
  return stores;
}
