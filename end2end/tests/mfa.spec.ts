import type { Page } from '@playwright/test';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, confirmEmail, createAdmin, enrol, hydrated, signIn, signOut, signUp, uniqueEmail } from './people';
import { totp } from './totp';

// Each test is a whole story (sign-up to reset) with several Argon2 checks.
test.describe.configure({ timeout: 90_000 });

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
  // The gate acts once the page has hydrated (debug WebAssembly: seconds on a busy machine).
  await expect(page).toHaveURL('/account/mfa', { timeout: 20_000 });
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
