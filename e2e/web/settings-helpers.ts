/** Small helpers shared by the settings console tests (settings.test.ts, updates.test.ts). */
import type { Locator, Page } from 'playwright-core';
import { screenshot } from './harness.js';

/** A toast (Mantine notification) containing this text. */
export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.mantine-Notification-root').filter({ hasText: text }).first();
}

/** Page errors and console errors, minus the HTTP answers a step expects (the 401 session probe, plus `statuses`). */
export function unexpected(problems: readonly string[], ...statuses: number[]): string[] {
  const expected = [401, ...statuses];
  return problems.filter((p) => !expected.some((s) => p.includes(`Failed to load resource: the server responded with a status of ${s} `)));
}

/** Click a link of the main navigation by its exact label. */
export async function nav(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
}

/**
 * A screenshot once the toasts are gone (they sit over the top right of the page). A toast under
 * the pointer never closes (Mantine pauses it on hover), so the pointer moves away first.
 */
export async function settledScreenshot(page: Page, name: string): Promise<void> {
  await page.mouse.move(5, 300);
  await page.locator('.mantine-Notification-root').first().waitFor({ state: 'detached', timeout: 20_000 });
  await screenshot(page, name);
}
