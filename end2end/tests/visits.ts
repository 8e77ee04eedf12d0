// Steps the booking and room stories share: a new patient, holding one of a
// demo doctor's times, paying for it.
import { expect, type Page } from '@playwright/test';
import { expectNoAxeViolations } from './fixtures';
import { PASSWORD, confirmEmail, hydrated, signIn, signUp, uniqueEmail, uniqueSurname } from './people';

/** The demo doctors' one password (demo data only). */
export const DEMO_PASSWORD = 'telehealth-demo-2026';

/** A new patient with a confirmed address, signed in. */
export async function newPatient(page: Page): Promise<string> {
  const email = uniqueEmail();
  const surname = uniqueSurname('Okafor');
  await signUp(page, email, { first: 'Maya', last: surname });
  await confirmEmail(page, email);
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL('/');
  return surname;
}

/** Opens a demo doctor's page (by position in the search) and holds one of their times. */
export async function holdATime(page: Page, specialization: string, nth: number): Promise<{ doctor: string; start: string }> {
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

export async function payWith(page: Page, card: string) {
  const main = page.getByRole('main');
  await main.getByLabel('Card number').fill(card);
  await main.getByLabel('Expiry (MM/YY)').fill('12/30');
  await main.getByLabel('Security code').fill('123');
  await main.getByRole('button', { name: /^Pay [A-Z]{3} / }).click();
}

