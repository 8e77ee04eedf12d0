import type { Browser, Page } from '@playwright/test';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, confirmEmail, hydrated, signIn, signUp, uniqueEmail, uniqueSurname } from './people';

// Whole stories from search to payment, in two browsers.
test.describe.configure({ timeout: 120_000 });

/** The demo doctors' one password (demo data only). */
const DEMO_PASSWORD = 'telehealth-demo-2026';

/** A new patient with a confirmed address, signed in. */
async function newPatient(page: Page): Promise<string> {
  const email = uniqueEmail();
  const surname = uniqueSurname('Okafor');
  await signUp(page, email, { first: 'Maya', last: surname });
  await confirmEmail(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL('/');
  return surname;
}

/** Opens a demo doctor's page (by position in the search) and holds one of their times. */
async function holdATime(page: Page, specialization: string, nth: number): Promise<{ doctor: string; start: string }> {
  await page.goto(`/doctors?specialization=${encodeURIComponent(specialization)}`);
  await hydrated(page);
  const link = page.getByRole('main').getByRole('link', { name: /^Dr / }).nth(nth);
  const doctor = (await link.textContent())!.trim();
  await link.click();
  await expect(page.getByRole('heading', { level: 1, name: doctor })).toBeVisible();
  await hydrated(page);
  // A later time than the first, so that two tests never race for the same one.
  const book = page.getByRole('link', { name: /^Book / }).nth(3 + nth);
  const start = decodeURIComponent(new URL((await book.getAttribute('href'))!, page.url()).searchParams.get('start')!);
  await book.click();
  await expect(page).toHaveURL(/\/book\?/);
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { level: 1, name: 'Book a consultation' })).toBeVisible();
  await expectNoAxeViolations(page);
  await main.getByLabel('Consultation type').selectOption('video');
  await main.getByLabel('What would you like to discuss?').fill('A rash on my forearm for two weeks.');
  await main.getByRole('button', { name: 'Hold this time for 10 minutes' }).click();
  await expect(page).toHaveURL(/\/consultations\/[0-9a-f-]+\/pay$/);
  await hydrated(page);
  return { doctor, start };
}

async function payWith(page: Page, card: string) {
  const main = page.getByRole('main');
  await main.getByLabel('Card number').fill(card);
  await main.getByLabel('Expiry (MM/YY)').fill('12/30');
  await main.getByLabel('Security code').fill('123');
  await main.getByRole('button', { name: /^Pay [A-Z]{3} / }).click();
}

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
