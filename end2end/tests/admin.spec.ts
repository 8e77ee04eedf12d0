import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { hydrated, newAdmin } from './people';
import { holdATime, newPatient, payWith } from './visits';

// An operator's day: the dashboard, a refund, and the act found again in the audit trail.
test.describe.configure({ timeout: 180_000 });

test('an administrator with two-step verification sees the charts, refunds a payment and finds the act in the audit trail', async ({ page, browser, browserErrors }) => {
  // A patient pays for a visit (in their own browser).
  const patientPage = await (await browser.newContext()).newPage();
  const surname = await newPatient(patientPage);
  await holdATime(patientPage, 'Dermatology', 1);
  await payWith(patientPage, '4242 4242 4242 4242');
  await expect(patientPage).toHaveURL(/\/consultations\?paid=/);
  await patientPage.context().close();

  const reason = `The video kept dropping for Maya ${surname}`;
  await newAdmin(page);
  await page.goto('/admin');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  const perDay = main.getByRole('figure', { name: 'Consultations per day, by status' });
  await expect(perDay.locator('svg rect').first()).toBeAttached();
  await expect(main.getByRole('figure', { name: /^Revenue per week in / }).first()).toBeVisible();
  await expect(main.locator('.figure', { hasText: 'No-show rate' })).toBeVisible();
  await expectNoAxeViolations(page);

  // A reversed range is explained next to the end date, and the dates typed stay.
  await main.getByLabel('From', { exact: true }).fill('2026-03-10');
  await main.getByLabel('To', { exact: true }).fill('2026-03-01');
  await main.getByRole('button', { name: 'Show' }).click();
  await expect(main.locator('#filter-to-error')).toHaveText('The end date is before the start date.');
  await expect(main.getByRole('alert')).toHaveText('Please correct the highlighted filters.');
  await expect(main.getByLabel('From', { exact: true })).toHaveValue('2026-03-10');
  await expectBrowserError(browserErrors, { text: /status of 422/, url: /\/api\/admin_dashboard\?/ });

  // The refund: first too much, then a part of it with a reason.
  await page.goto(`/admin/payments?q=${surname}`);
  await hydrated(page);
  const row = main.getByRole('row', { name: new RegExp(surname) });
  await expect(row).toContainText('paid');
  await row.getByText(/^Refund Maya /).click();
  const amount = row.getByLabel('Amount to refund');
  const full = await amount.inputValue();
  await amount.fill('999999');
  await row.getByLabel('Reason (goes into the audit trail)').fill(reason);
  await row.getByRole('button', { name: 'Refund', exact: true }).click();
  await expect(row.locator('.field-error')).toContainText(`At most ${full} can still be refunded.`);
  await expect(row.getByLabel('Reason (goes into the audit trail)')).toHaveValue(reason);
  await expectBrowserError(browserErrors, { text: /status of 422/, url: /\/api\/admin_refund$/ });
  const part = full.includes('.') ? '1.00' : '1';
  await amount.fill(part);
  await row.getByRole('button', { name: 'Refund', exact: true }).click();
  await expect(main.getByRole('status').filter({ hasText: 'Refunded' })).toContainText(`to Maya ${surname}`);
  await expect(main.getByRole('row', { name: new RegExp(surname) })).toContainText('partly refunded');
  await expectNoAxeViolations(page);

  // The act, with its reason, in the audit trail.
  await page.goto('/admin/audit?action=payment.refunded');
  await hydrated(page);
  const entry = main.getByRole('row', { name: new RegExp(reason) });
  await expect(entry).toContainText('payment.refunded');
  await expect(entry).toContainText('"by":"admin"');
  await expect(entry).toContainText(`"amount":"${part}"`);
  await expectNoAxeViolations(page);
  const csv = main.getByRole('link', { name: 'Download these entries as CSV' });
  await expect(csv).toHaveAttribute('href', '/admin/audit.csv?action=payment.refunded');
});
