import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, hydrated, signIn, signUp, uniqueEmail } from './people';

test.describe('in London', () => {
  test.use({ timezoneId: 'Europe/London' });

  test('a patient signs up with the timezone of their browser', async ({ page }) => {
    await page.goto('/sign-up');
    await hydrated(page);
    await expect(page.getByRole('main')).toContainText('Your timezone: Europe/London');
    await expectNoAxeViolations(page);
    await signUp(page, uniqueEmail());
    await expectNoAxeViolations(page);
  });
});

test('a patient signs in, sees their name in the header, and signs out', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  const header = page.locator('header');
  await expect(header).toContainText('Maya');
  await expect(page).toHaveURL('/');
  await expectNoAxeViolations(page);

  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(header.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(header).not.toContainText('Maya');
});

test('a wrong password shows an error next to the password field and keeps the email', async ({ page, browserErrors }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, 'violet kettle harbour sang');
  const main = page.getByRole('main');
  const password = main.getByLabel('Password');
  await expect(main.getByText('The email or password is not right.')).toBeVisible();
  await expect(password).toHaveAttribute('aria-invalid', 'true');
  await expect(password).toHaveAttribute('aria-describedby', /field-password-error/);
  await expect(main.getByLabel('Email')).toHaveValue(email);
  // The refusal is a 422, which Chromium logs as a failed resource load.
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/sign_in', page.url()).href });
  await expectNoAxeViolations(page);
});

test('a weak password on sign-up is explained next to the field', async ({ page, browserErrors }) => {
  await page.goto('/sign-up');
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('First name').fill('Maya');
  await main.getByLabel('Last name').fill('Okafor');
  await main.getByLabel('Email').fill(uniqueEmail());
  await main.getByLabel('Password').fill('password1234');
  await main.getByRole('button', { name: 'Create account' }).click();
  await expect(main.getByText('This password is too common')).toBeVisible();
  await expect(main.getByLabel('First name')).toHaveValue('Maya');
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/sign_up', page.url()).href });
  await expectNoAxeViolations(page);
});

test('a new patient confirms their email address with the link from the mailbox', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
  await expect(page.getByRole('heading', { name: 'Confirm your email address for Telehealth' })).toBeVisible();
  await expectNoAxeViolations(page);
  const href = await page.getByRole('link', { name: /verify-email\?token=/ }).getAttribute('href');
  const link = new URL(href!);
  await page.goto(link.pathname + link.search);
  await hydrated(page);
  await page.getByRole('button', { name: 'Confirm my email address' }).click();
  await expect(page.getByRole('status')).toContainText('your email address is confirmed');
  await expectNoAxeViolations(page);
});

test('until the address is confirmed, a signed-in patient is reminded', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page.getByText('Please confirm your email address')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send a new link' })).toBeVisible();
  await expectNoAxeViolations(page);
});

test('a signed-in patient sees this device among their sessions', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await page.locator('header').getByRole('link', { name: 'Sessions' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your sessions' })).toBeVisible();
  const devices = page.getByRole('list', { name: 'Signed-in devices' });
  await expect(devices.getByText('This device')).toBeVisible();
  await expect(devices).toContainText(/Chrome on (Windows|Linux)/); // Playwright's desktop profile says Windows
  await expect(page.getByRole('button', { name: 'Sign out everywhere' })).toBeVisible();
  await expectNoAxeViolations(page);
});

test('a patient who forgot their password sets a new one from the emailed link', async ({ page }) => {
  const email = uniqueEmail();
  const newPassword = 'amber lantern quietly drifts';
  await signUp(page, email);
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('Email').fill(email);
  await main.getByRole('button', { name: 'Send the link' }).click();
  await expect(main.getByRole('status')).toContainText('If an account uses this address');
  await expectNoAxeViolations(page);

  await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
  const href = await page.getByRole('link', { name: /reset-password\?token=/ }).getAttribute('href');
  const link = new URL(href!);
  await page.goto(link.pathname + link.search);
  await hydrated(page);
  await page.getByRole('main').getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Save the new password' }).click();
  await expect(page.getByRole('main').getByRole('status')).toContainText('Your new password is saved');
  await expectNoAxeViolations(page);

  await signIn(page, email, newPassword);
  await expect(page.locator('header')).toContainText('Maya');
});

test('a signed-in patient changes their password', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page.locator('header')).toContainText('Maya');
  await page.goto('/account/password');
  await hydrated(page);
  const main = page.getByRole('main');
  await main.getByLabel('Current password').fill(PASSWORD);
  await main.getByLabel('New password').fill('amber lantern quietly drifts');
  await main.getByRole('button', { name: 'Change password' }).click();
  await expect(main.getByRole('status').filter({ hasText: 'Your password is changed' })).toBeVisible();
  await expectNoAxeViolations(page);
});

test('an idle patient is warned a minute before automatic logoff, and then signed out', async ({ page }) => {
  await page.clock.install();
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page.locator('header')).toContainText('Maya');
  await page.goto('/account/password');
  await hydrated(page);
  await page.getByRole('main').getByLabel('Current password').fill('half typed');

  // The browser's own deadline is 13 minutes (the server's 15 less its 2-minute lag).
  await page.clock.fastForward('12:05');
  const warning = page.getByRole('alertdialog', { name: 'Are you still there?' });
  await expect(warning).toContainText('signed out in');
  await expect(warning).toContainText('changes you have not sent');
  await expect(warning.getByRole('button', { name: 'Stay signed in' })).toBeFocused();
  await expectNoAxeViolations(page);
  await warning.getByRole('button', { name: 'Stay signed in' }).click();
  await expect(warning).toHaveCount(0);

  await page.clock.fastForward('13:05');
  await expect(page).toHaveURL(/\/sign-in\?reason=idle$/);
  await expect(page.getByRole('main').getByRole('status').filter({ hasText: 'You were signed out after a while without activity' })).toBeVisible();
  await expect.poll(async () => (await page.request.get('/api/me')).json()).toBeNull();
  await expectNoAxeViolations(page);
});

test('a patient edits their profile and a bad phone number is explained next to the field', async ({ page, browserErrors }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await page.locator('header').getByRole('link', { name: 'Profile' }).click();
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByLabel('First name')).toHaveValue('Maya');
  await expectNoAxeViolations(page);

  await main.getByLabel('Phone').fill('0207 946 0958');
  await main.getByRole('button', { name: 'Save profile' }).click();
  await expect(main.getByText('Start with + and your country code')).toBeVisible();
  await expect(main.getByLabel('Phone')).toHaveAttribute('aria-invalid', 'true');
  await expect(main.getByLabel('Phone')).toHaveValue('0207 946 0958');
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/update_profile', page.url()).href });

  await main.getByLabel('Phone').fill('+44 20 7946 0958');
  await main.getByLabel('Country').fill('GB');
  await main.getByLabel('Postal code').fill('SW1A 1AA');
  await main.getByRole('button', { name: 'Save profile' }).click();
  await expect(main.getByRole('status').filter({ hasText: 'Your profile is saved' })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('main').getByLabel('Phone')).toHaveValue('+442079460958');
  await expectNoAxeViolations(page);
});
