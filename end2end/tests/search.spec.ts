import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { hydrated } from './people';

test.describe('a patient in India', () => {
  test.use({ timezoneId: 'Asia/Kolkata' });

  test('finds a dermatologist, sees their next times in Indian time, and opens their page', async ({ page }) => {
    await page.goto('/');
    await page.locator('header').getByRole('link', { name: 'Find a doctor' }).click();
    await expect(page).toHaveURL('/doctors');
    await hydrated(page);
    const main = page.getByRole('main');
    // The times (and the fields) are drawn in the browser's zone before anyone types.
    await expect(main).toContainText('Times are in Asia/Kolkata.');
    await main.getByLabel('Specialization').selectOption('Dermatology');
    await main.getByLabel('Available').selectOption('week');
    await main.getByRole('button', { name: 'Search' }).click();
    await expect(page).toHaveURL(/specialization=Dermatology/);
    await expect(page).toHaveURL(/available=week/);
    await expect(main).toContainText(/\d+ doctors? match(es)? your search\./);
    // The browser's zone replaces the server's guess for someone not signed in.
    await expect(main).toContainText('Times are in Asia/Kolkata.');
    const cards = main.getByRole('listitem').filter({ has: page.getByRole('link', { name: /^Dr / }) });
    await expect(cards.first()).toContainText('Dermatology');
    await expect(cards.first()).toContainText('Next available:');
    await expectNoAxeViolations(page);

    const first = cards.first().getByRole('link', { name: /^Dr / });
    const name = (await first.textContent())!.trim();
    await first.click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await hydrated(page);
    await expect(page.getByRole('main')).toContainText('Times are in Asia/Kolkata.');
    const book = page.getByRole('link', { name: /^Book / }).first();
    await expect(book).toHaveAttribute('href', /\/book\?doctor=.+&start=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\dZ/);
    await expectNoAxeViolations(page);
  });
});

test('a shared search URL is rendered on the server with its filters', async ({ request }) => {
  const res = await request.get('/doctors?specialization=Cardiology&language=es&sort=fee_low');
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('Cardiology');
  expect(html).toMatch(/doctors? match(es)? your search/);
  expect(html).toMatch(/<option value="es" selected/);
});

test('a fee range without a currency is explained next to the currency', async ({ page }) => {
  // Loaded from a shared URL: the server renders the refusal, with the values kept.
  await page.goto('/doctors?fee_min=10&fee_max=50');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByText('Choose the currency of the fee range.')).toBeVisible();
  await expect(main.getByLabel('Currency')).toHaveAttribute('aria-invalid', 'true');
  await expect(main.getByLabel('Fee from')).toHaveValue('10');
  await expect(main.getByLabel('Fee to')).toHaveValue('50');
  await expectNoAxeViolations(page);
});

test('an unknown doctor answers 404', async ({ page, browserErrors }) => {
  const response = await page.goto('/doctors/00000000-0000-4000-8000-000000000000');
  expect(response?.status()).toBe(404);
  await expectBrowserError(browserErrors, { text: /status of 404/, url: response!.url() });
  await expect(page.getByRole('heading', { name: 'Doctor not found' })).toBeVisible();
});
