import type { Page } from '@playwright/test';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, confirmEmail, hydrated, newAdmin, signIn, signUp, uniqueEmail, uniqueSurname } from './people';

// Whole stories: sign-up, profile, verification, availability.
test.describe.configure({ timeout: 120_000 });
test.use({ timezoneId: 'Europe/London' });

/** The date of the next `weekday` (0 = Sunday) after today, as YYYY-MM-DD. */
function nextWeekday(weekday: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + (((weekday - d.getUTCDay() + 7) % 7) || 7));
  return d.toISOString().slice(0, 10);
}

async function fillProfile(page: Page, licence: string) {
  const main = page.getByRole('main');
  await main.getByLabel('Licence number').fill(licence);
  await main.getByLabel('Licence valid until').fill('2030-01-31');
  await main.getByLabel('Specialization').selectOption('Dermatology');
  await main.getByLabel('Years of experience').fill('9');
  await main.getByLabel('Qualifications').fill('MBBS, MD (Dermatology)');
  await main.getByLabel('About you (shown to patients)').fill('Skin, hair and nails, for adults and children.');
  await main.getByLabel('English').check();
  await main.getByLabel('Portuguese').check();
  await main.getByLabel('Fee per consultation').fill('55');
  await main.getByLabel('Currency').selectOption('GBP');
  await main.getByLabel('Consultation length').selectOption('30');
}

test('a doctor completes their profile, an administrator verifies it, and the doctor opens hours', async ({ page, browser, browserErrors }) => {
  const email = uniqueEmail();
  const surname = uniqueSurname('Achebe');
  await signUp(page, email, { first: 'Imani', last: surname, role: 'doctor' });
  await confirmEmail(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL('/');

  // The professional profile: a mistake is explained next to its field, nothing typed is lost.
  await page.locator('header').getByRole('link', { name: 'Practice' }).click();
  await expect(page).toHaveURL('/doctor/profile');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main).toContainText('Complete your profile');
  await expectNoAxeViolations(page);
  const licence = `GMC-${Date.now()}`;
  await fillProfile(page, licence);
  await main.getByLabel('Fee per consultation').fill('55.555');
  await main.getByRole('button', { name: 'Save profile' }).click();
  const fee = main.getByLabel('Fee per consultation');
  await expect(main).toContainText('GBP has 2 decimal places at most.');
  await expect(fee).toHaveAttribute('aria-invalid', 'true');
  await expect(main.getByLabel('Licence number')).toHaveValue(licence);
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/save_doctor_profile', page.url()).href });
  await fee.fill('55');
  await main.getByRole('button', { name: 'Save profile' }).click();
  await expect(main.getByText('Waiting for verification by an administrator')).toBeVisible();
  await expect(main.getByLabel('Portuguese')).toBeChecked();
  await expectNoAxeViolations(page);

  // Availability: Monday mornings, then a clash, then a day off; the preview follows.
  await page.locator('header').getByRole('link', { name: 'Availability' }).click();
  await expect(page).toHaveURL('/doctor/availability');
  await hydrated(page);
  await expect(main).toContainText('No hours yet');
  await main.getByLabel('Day', { exact: true }).selectOption('Monday');
  await main.getByLabel('From', { exact: true }).first().fill('09:00');
  await main.getByLabel('To', { exact: true }).first().fill('12:00');
  await main.getByRole('button', { name: 'Add weekly hours' }).click();
  await expect(main.getByRole('list', { name: 'Your hours' })).toContainText('Every Monday, 09:00–12:00 (Europe/London)');
  const preview = main.getByRole('list', { name: 'Bookable times in the next two weeks' });
  await expect(preview).toContainText('Monday');
  await expect(preview).toContainText('09:00, 09:35, 10:10');
  await main.getByLabel('From', { exact: true }).first().fill('11:00');
  await main.getByLabel('To', { exact: true }).first().fill('13:00');
  await main.getByRole('button', { name: 'Add weekly hours' }).click();
  await expect(main.getByText(/overlaps the Monday 09:00–12:00 window/)).toBeVisible();
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/add_availability_window', page.url()).href });
  const monday = nextWeekday(1);
  await main.getByLabel('First day off').fill(monday);
  await main.getByRole('button', { name: 'Add time off' }).click();
  await expect(main.getByRole('list', { name: 'Your time off' })).toContainText('00:00');
  await expectNoAxeViolations(page);

  // An administrator approves the doctor.
  const adminPage = await (await browser.newContext()).newPage();
  await newAdmin(adminPage);
  await adminPage.locator('header').getByRole('link', { name: 'Verify doctors' }).click();
  await expect(adminPage).toHaveURL('/admin/doctors');
  await hydrated(adminPage);
  const card = adminPage.getByRole('listitem').filter({ hasText: `Imani ${surname}` });
  await expect(card).toContainText(licence);
  await expectNoAxeViolations(adminPage);
  await card.getByRole('button', { name: `Approve Imani ${surname}` }).click();
  await expect(adminPage.getByRole('main').getByRole('status')).toContainText('the doctor has been emailed');
  await expect(adminPage.getByRole('listitem').filter({ hasText: `Imani ${surname}` })).toHaveCount(0);

  await page.goto('/doctor/profile');
  await expect(page.getByRole('main').getByText('Verified: patients can find and book you.')).toBeVisible();
  await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
  await expect(page.getByRole('heading', { name: 'Your Telehealth profile is verified' })).toBeVisible();

  // A patient in India finds the doctor by specialty: Monday 09:00 in London is 14:30 there
  // (the first Monday is the doctor's day off, so the times are on the second).
  const patient = await (await browser.newContext({ timezoneId: 'Asia/Kolkata' })).newPage();
  await patient.goto('/doctors');
  await hydrated(patient);
  const search = patient.getByRole('main');
  // A first visit is drawn in UTC, then again in the browser's zone: wait for that before typing.
  await expect(search).toContainText('Times are in Asia/Kolkata.');
  await search.getByLabel('Specialization').selectOption('Dermatology');
  await search.getByLabel('Name').fill(surname);
  await search.getByRole('button', { name: 'Search' }).click();
  const result = search.getByRole('listitem').filter({ has: patient.getByRole('link', { name: `Dr Imani ${surname}` }) });
  await expect(search).toContainText('Times are in Asia/Kolkata.');
  await expect(result).toContainText(/Mon \d+ \w+, 14:30/);
  await result.getByRole('link', { name: `Dr Imani ${surname}` }).click();
  await expect(patient.getByRole('heading', { level: 1, name: `Dr Imani ${surname}` })).toBeVisible();
  await expect(patient.getByRole('link', { name: /^Book Mon \d+ \w+, 14:30$/ }).first()).toBeVisible();
  // Another zone, chosen on the page: the same time in New York is 04:00.
  await patient.getByLabel('Show times in').fill('America/New_York');
  await patient.getByRole('button', { name: 'Change timezone' }).click();
  await expect(patient.getByRole('main')).toContainText('Times are in America/New_York.');
  await expect(patient.getByRole('link', { name: /^Book Mon \d+ \w+, 04:00$/ }).first()).toBeVisible();
  await expectNoAxeViolations(patient);
});

test('a patient cannot open the doctors’ or the administrators’ pages', async ({ page, browserErrors }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL('/');
  for (const path of ['/doctor/profile', '/doctor/availability', '/admin/doctors']) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(403);
    await expectBrowserError(browserErrors, { text: /status of 403/, url: response!.url() });
    await expect(page.getByRole('main')).toContainText(/for doctors|for administrators/);
  }
});
