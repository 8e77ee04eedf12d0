import type { Browser, Page } from '@playwright/test';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { hydrated, signIn } from './people';
import { DEMO_PASSWORD, holdATime, newPatient, payWith } from './visits';

// Whole stories from search to payment, in two browsers.
test.describe.configure({ timeout: 120_000 });

/** The doctor's week that contains `start`, seen by the doctor. */
async function doctorsWeek(browser: Browser, doctor: string, start: string): Promise<Page> {
  const [first, last] = doctor.replace(/^Dr /, '').toLowerCase().split(' ');
  const page = await (await browser.newContext()).newPage();
  await signIn(page, `dr.${first}.${last}@example.com`, DEMO_PASSWORD);
  await expect(page).toHaveURL('/');
  await page.goto(`/doctor/schedule?view=week&date=${start.slice(0, 10)}`);
  await hydrated(page);
  return page;
}

test('a patient books a time, pays with the test card, sees it upcoming; the doctor sees it on the schedule', async ({ page, browser }) => {
  const surname = await newPatient(page);
  const { doctor, start } = await holdATime(page, 'Cardiology', 0);
  const main = page.getByRole('main');
  await expect(main).toContainText('We hold this time for you until');
  await expectNoAxeViolations(page);
  await payWith(page, '4242 4242 4242 4242');
  await expect(page).toHaveURL(/\/consultations\?paid=/);
  await expect(main.getByRole('status').first()).toContainText('Payment received: your consultation is booked.');
  const upcoming = main.getByRole('region', { name: 'Upcoming' }).or(main.locator('section', { has: page.getByRole('heading', { name: 'Upcoming' }) }));
  await expect(upcoming.first()).toContainText(doctor);
  await expect(upcoming.first()).toContainText('Booked');
  await expectNoAxeViolations(page);

  const schedule = await doctorsWeek(browser, doctor, start);
  const agenda = schedule.getByRole('main');
  await expect(agenda).toContainText(`Maya ${surname}`);
  await expect(agenda).toContainText('A rash on my forearm for two weeks.');
  await expectNoAxeViolations(schedule);

  // The patient cancels: the refund follows the policy and is shown.
  await page.getByRole('button', { name: new RegExp(`^Cancel the consultation with ${doctor}`) }).click();
  await expect(main.getByText(/^Cancelled\. Refunded [A-Z]{3} \d+\.\d\d\.$/)).toBeVisible();
});

test('a declined card is explained and the time stays held for a while', async ({ page, browserErrors }) => {
  await newPatient(page);
  const { doctor } = await holdATime(page, 'Dermatology', 1);
  await payWith(page, '4000 0000 0000 0002');
  const main = page.getByRole('main');
  await expect(main.getByText('Your card was declined. Try another card.')).toBeVisible();
  await expect(main.getByLabel('Card number')).toHaveAttribute('aria-invalid', 'true');
  await expect(main.getByLabel('Card number')).toHaveValue('4000 0000 0000 0002');
  await expectBrowserError(browserErrors, { text: /status of 422/, url: new URL('/api/pay_consultation', page.url()).href });
  await page.goto('/consultations');
  await hydrated(page);
  await expect(main).toContainText('Waiting for payment');
  await expect(main.getByRole('link', { name: new RegExp(`^Pay now for the consultation with ${doctor}`) })).toBeVisible();
});
