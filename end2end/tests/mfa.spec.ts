import { execFileSync } from 'node:child_process';
import type { Page } from '@playwright/test';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, hydrated, signIn, signUp, uniqueEmail } from './people';
import { totp } from './totp';

// Each test is a whole story (sign-up to reset) with several Argon2 checks.
test.describe.configure({ timeout: 90_000 });

/** Opens the confirmation link of the newest mail to `email` from the development mailbox. */
async function confirmEmail(page: Page, email: string) {
  await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
  const href = await page.getByRole('link', { name: /verify-email\?token=/ }).getAttribute('href');
  const link = new URL(href!);
  await page.goto(link.pathname + link.search);
  await hydrated(page);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await expect(page.getByRole('status')).toContainText('your email address is confirmed');
}

/** Sets up two-step verification from the account page; returns the key and the recovery codes. */
async function enrol(page: Page): Promise<{ key: string; codes: string[] }> {
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

async function signOut(page: Page) {
  const header = page.locator('header');
  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(header.getByRole('link', { name: 'Sign in' })).toBeVisible();
}

/** Types a code at the second step of signing in. */
async function enterCode(page: Page, code: string) {
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { name: 'Two-step verification' })).toBeVisible();
  await expect(main.getByLabel('Code')).toBeFocused();
  await main.getByLabel('Code').fill(code);
  await main.getByRole('button', { name: 'Verify and sign in' }).click();
}

test('a patient turns on two-step verification, then signs in with a code and with a recovery code', async ({ page, browserErrors }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await confirmEmail(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL('/');
  const { key, codes } = await enrol(page);
  await signOut(page);

  // Password, then a wrong code (explained next to the field), then the app's next code.
  await signIn(page, email, PASSWORD);
  await expectNoAxeViolations(page);
  await enterCode(page, '000000');
  const codeField = page.getByRole('main').getByLabel('Code');
  await expect(page.getByRole('main')).toContainText('This code is not right.');
  await expect(codeField).toHaveAttribute('aria-invalid', 'true');
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/sign_in_code', page.url()).href });
  // The code used at enrolment is spent: the authenticator's next one.
  await codeField.fill(totp(key, Date.now() / 1000 + 30));
  await page.getByRole('main').getByRole('button', { name: 'Verify and sign in' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.locator('header')).toContainText('Maya');
  await signOut(page);

  // Lost phone: a recovery code instead.
  await signIn(page, email, PASSWORD);
  await enterCode(page, codes[0]);
  await expect(page).toHaveURL('/');
  await page.goto('/account/mfa');
  await expect(page.getByRole('main')).toContainText('You have 9 unused recovery codes.');
  await expectNoAxeViolations(page);
});

/** Makes an administrator with the command line, as an operator would. */
function createAdmin(email: string) {
  const bin = process.env.TELEHEALTH_BIN;
  const databaseUrl = process.env.TELEHEALTH_E2E_DATABASE_URL;
  if (!bin || !databaseUrl) throw new Error('TELEHEALTH_BIN and TELEHEALTH_E2E_DATABASE_URL are set by .ci/run');
  execFileSync(bin, ['create-admin', '--email', email, '--first-name', 'Olga', '--last-name', 'Ops'], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, DATABASE_URL: databaseUrl, TELEHEALTH__DEMO__SEED: 'false', RUST_LOG: 'error' },
  });
}

test('an administrator must set up two-step verification first, then resets a patient’s', async ({ browser }) => {
  // The patient, with two-step verification on.
  const patientPage = await (await browser.newContext()).newPage();
  const patientEmail = uniqueEmail();
  await signUp(patientPage, patientEmail);
  await confirmEmail(patientPage, patientEmail);
  await signIn(patientPage, patientEmail, PASSWORD);
  await expect(patientPage).toHaveURL('/');
  await enrol(patientPage);

  const adminEmail = `olga.${Date.now()}@example.com`;
  createAdmin(adminEmail);
  const page = await (await browser.newContext()).newPage();
  await signIn(page, adminEmail, PASSWORD);
  // Sent to enrolment before anything else, wherever they go.
  await expect(page).toHaveURL('/account/mfa');
  await expect(page.getByRole('main')).toContainText('As an administrator you must turn on two-step verification');
  await page.locator('header').getByRole('link', { name: 'About', exact: true }).click();
  await expect(page).toHaveURL('/account/mfa');
  const { key } = await enrol(page);
  expect(key).toBeTruthy();

  await page.locator('header').getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL('/admin/users');
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('Email or name').fill(patientEmail);
  await main.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=maya/);
  const row = main.getByRole('row', { name: new RegExp(patientEmail.replace(/\./g, '\\.')) });
  await expect(row).toContainText('on');
  await expectNoAxeViolations(page);
  await row.getByText('Manage Maya Okafor').click();
  await row.getByLabel('Reason for the two-step reset').fill('Lost phone; identity checked by video');
  await row.getByRole('button', { name: 'Reset two-step verification' }).click();
  await expect(main.getByRole('status')).toContainText('Done');
  await expect(row.getByRole('cell', { name: 'off', exact: true })).toBeVisible();
  await expectNoAxeViolations(page);

  // The patient was signed out and told by email.
  await patientPage.goto('/account/mfa');
  await expect(patientPage.getByRole('main')).toContainText('Please sign in');
  await patientPage.goto(`/dev/mailbox?to=${encodeURIComponent(patientEmail)}`);
  await expect(patientPage.getByRole('heading', { name: 'Your two-step verification was reset' })).toBeVisible();
});
