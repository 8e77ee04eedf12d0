// People the browser tests create and the steps they take to get in.
import { execFileSync } from 'node:child_process';
import { expect, type Page } from '@playwright/test';
import { expectNoAxeViolations } from './fixtures';
import { totp } from './totp';

export const PASSWORD = 'violet kettle harbour sings';

export function uniqueEmail(): string {
  return `maya.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
}

export async function hydrated(page: Page) {
  // Debug WebAssembly is large: compiling it takes a few seconds on a busy machine.
  await expect(page.locator('html[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
}

export async function signUp(
  page: Page,
  email: string,
  who: { first?: string; last?: string; role?: 'patient' | 'doctor' } = {},
) {
  await page.goto('/sign-up');
  await hydrated(page);
  const main = page.getByRole('main');
  if (who.role === 'doctor') await main.getByLabel('a doctor').check();
  await main.getByLabel('First name').fill(who.first ?? 'Maya');
  await main.getByLabel('Last name').fill(who.last ?? 'Okafor');
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

/** Opens the confirmation link of the newest mail to `email` from the development mailbox. */
export async function confirmEmail(page: Page, email: string) {
  await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
  const href = await page.getByRole('link', { name: /verify-email\?token=/ }).getAttribute('href');
  const link = new URL(href!);
  await page.goto(link.pathname + link.search);
  await hydrated(page);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await expect(page.getByRole('status')).toContainText('your email address is confirmed');
}

/** Sets up two-step verification from the account page; returns the key and the recovery codes. */
export async function enrol(page: Page): Promise<{ key: string; codes: string[] }> {
  await page.goto('/account/mfa');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main).toContainText('Two-step verification is off');
  await main.getByRole('button', { name: 'Set up two-step verification' }).click();
  await expect(main.getByRole('img', { name: /QR code/ })).toBeVisible();
  const key = (await main.getByTestId('manual-key').textContent())!.replace(/\s/g, '');
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  await expectNoAxeViolations(page);
  await main.getByLabel('Enter the 6-digit code the app shows').fill(totp(key));
  await main.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await expect(main.getByRole('status')).toContainText('Two-step verification is on.');
  const codes = await main.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
  expect(codes).toHaveLength(10);
  const download = main.getByRole('link', { name: 'Download the codes' });
  await expect(download).toHaveAttribute('download', 'telehealth-recovery-codes.txt');
  expect(decodeURIComponent((await download.getAttribute('href'))!)).toContain(codes[0]);
  await expectNoAxeViolations(page);
  return { key, codes };
}

export async function signOut(page: Page) {
  const header = page.locator('header');
  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(header.getByRole('link', { name: 'Sign in' })).toBeVisible();
}

/** Makes an administrator with the command line, as an operator would. */
export function createAdmin(email: string) {
  const bin = process.env.TELEHEALTH_BIN;
  const databaseUrl = process.env.TELEHEALTH_E2E_DATABASE_URL;
  if (!bin || !databaseUrl) throw new Error('TELEHEALTH_BIN and TELEHEALTH_E2E_DATABASE_URL are set by .ci/run');
  execFileSync(bin, ['create-admin', '--email', email, '--first-name', 'Olga', '--last-name', 'Ops'], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, DATABASE_URL: databaseUrl, TELEHEALTH__DEMO__SEED: 'false', RUST_LOG: 'error' },
  });
}

/** A new administrator, signed in on `page` with two-step verification set up. */
export async function newAdmin(page: Page): Promise<void> {
  const email = `olga.${Date.now()}.${Math.random().toString(36).slice(2, 6)}@example.com`;
  createAdmin(email);
  await signIn(page, email, PASSWORD);
  // The gate acts once the page has hydrated (debug WebAssembly: seconds on a busy machine).
  await expect(page).toHaveURL('/account/mfa', { timeout: 20_000 });
  await enrol(page);
}

/** Letters only (names must be names), different on every call. */
export function uniqueSurname(base: string): string {
  const letters = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
  return `${base}${letters}`;
}

/** Runs one SQL statement against the e2e server's database (test set-up only: moving times). */
export function sql(statement: string): string {
  const databaseUrl = process.env.TELEHEALTH_E2E_DATABASE_URL;
  if (!databaseUrl) throw new Error('TELEHEALTH_E2E_DATABASE_URL is set by .ci/run');
  return execFileSync('psql', [databaseUrl, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', statement], { encoding: 'utf8' }).trim();
}
