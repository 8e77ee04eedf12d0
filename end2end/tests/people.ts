// People the browser tests create and the steps they take to get in.
import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'violet kettle harbour sings';

export function uniqueEmail(): string {
  return `maya.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
}

export async function hydrated(page: Page) {
  await expect(page.locator('html[data-hydrated="true"]')).toHaveCount(1);
}

export async function signUp(page: Page, email: string) {
  await page.goto('/sign-up');
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('First name').fill('Maya');
  await main.getByLabel('Last name').fill('Okafor');
  await main.getByLabel('Email').fill(email);
  await main.getByLabel('Password').fill(PASSWORD);
  await main.getByRole('button', { name: 'Create account' }).click();
  await expect(main.getByRole('status')).toContainText('Your account is ready');
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/sign-in');
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('Email').fill(email);
  await main.getByLabel('Password').fill(password);
  await main.getByRole('button', { name: 'Sign in' }).click();
}
