import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, expect, expectBrowserError, expectNoAxeViolations } from './fixtures';
import { PASSWORD, hydrated, signIn, sql } from './people';
import { holdATime, newPatient, payWith } from './visits';

// A patient's data rights: take everything away as JSON and FHIR, then leave.
test.describe.configure({ timeout: 180_000 });

test('a patient downloads their records as JSON and FHIR, then deletes their account and cannot sign in again', async ({ page, browserErrors }) => {
  const surname = await newPatient(page);
  const { doctor } = await holdATime(page, 'Psychiatry', 1);
  await payWith(page, '4242 4242 4242 4242');
  await expect(page).toHaveURL(/\/consultations\?paid=/);

  await page.goto('/account/data');
  await hydrated(page);
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { level: 1, name: 'Your data' })).toBeVisible();
  await expectNoAxeViolations(page);

  const [json] = await Promise.all([page.waitForEvent('download'), main.getByRole('link', { name: 'Download as JSON' }).click()]);
  const record = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  expect(record.profile.last_name).toBe(surname);
  expect(record.consultations).toHaveLength(1);
  expect(JSON.stringify(record.consultations[0])).toContain(doctor.replace(/^Dr /, '').split(' ')[1]);
  expect(record.payments).toHaveLength(1);

  const [fhir] = await Promise.all([
    page.waitForEvent('download'),
    main.getByRole('link', { name: 'Download as FHIR (for other health services)' }).click(),
  ]);
  const bundle = JSON.parse(readFileSync((await fhir.path())!, 'utf8'));
  expect(bundle.resourceType).toBe('Bundle');
  const types = bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType);
  expect(types).toEqual(expect.arrayContaining(['Patient', 'Practitioner', 'Appointment']));

  // A visit is still to come: the deletion is refused and says why.
  await main.getByLabel('Your password').fill(PASSWORD);
  await main.getByLabel('Type DELETE to confirm').fill('delete');
  await main.getByRole('button', { name: 'Delete my account' }).click();
  await expect(main.locator('#field-confirm-error')).toContainText('DELETE');
  await expect(main.getByLabel('Your password')).toHaveValue(PASSWORD);
  await expectBrowserError(browserErrors, { text: /status of 422/, url: /\/api\/delete_account$/ });
  await main.getByLabel('Type DELETE to confirm').fill('DELETE');
  await main.getByRole('button', { name: 'Delete my account' }).click();
  await expect(main.getByRole('alert')).toContainText('still to come');
  await expectBrowserError(browserErrors, { text: /status of 409/, url: /\/api\/delete_account$/ });
  await expectNoAxeViolations(page);

  // Once the visit is cancelled, the account can go.
  await page.goto('/consultations');
  await hydrated(page);
  await main.getByRole('button', { name: new RegExp(`^Cancel the consultation with ${doctor}`) }).click();
  await expect(main.getByText(/^Cancelled\. Refunded [A-Z]{3} [\d.]+\.$/)).toBeVisible();

  await page.goto('/account/data');
  await hydrated(page);
  await main.getByLabel('Your password').fill(PASSWORD);
  await main.getByLabel('Type DELETE to confirm').fill('DELETE');
  await main.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.locator('header').getByRole('link', { name: 'Sign in' })).toBeVisible();
  await signIn(page, record.account.email, PASSWORD);
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByRole('main').getByText('The email or password is not right.')).toBeVisible();
  await expectBrowserError(browserErrors, { text: /status of 422/, url: /\/api\/sign_in$/ });
});

test('a visit from three years ago stays in the patient’s history and record after it moves to the archive', async ({ page }) => {
  const surname = await newPatient(page);
  const patient = sql(`SELECT user_id FROM profiles WHERE last_name = '${surname}'`);
  const doctor = sql(`SELECT d.id FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email = 'dr.amara.okafor@example.com'`);
  const visit = sql(
    `INSERT INTO consultations (patient_id, doctor_id, scheduled_at, scheduled_end_at, status, consultation_type, symptoms)
     VALUES ('${patient}', '${doctor}', '2023-05-02 10:00Z', '2023-05-02 10:30Z', 'scheduled', 'video', 'Morning headaches')
     RETURNING id`,
  );
  sql(`INSERT INTO payments (consultation_id, patient_id, doctor_id, amount, currency, status, payment_method,
                             transaction_id, payment_gateway, paid_at)
       VALUES ('${visit}', '${patient}', '${doctor}', 80, 'USD', 'succeeded', 'Visa •••• 4242',
               'sbx_ch_${visit.replace(/-/g, '')}', 'sandbox', '2023-04-30 09:00Z')`);
  sql(`UPDATE consultations SET status = 'in_progress', started_at = '2023-05-02 10:01Z' WHERE id = '${visit}'`);
  sql(`UPDATE consultations SET status = 'completed', ended_at = '2023-05-02 10:20Z', duration_minutes = 19,
       diagnosis = 'Tension-type headache' WHERE id = '${visit}'`);

  // The hourly archival, run now by the operator's command.
  execFileSync(process.env.TELEHEALTH_BIN!, ['archive'], {
    env: { ...process.env, DATABASE_URL: process.env.TELEHEALTH_E2E_DATABASE_URL, TELEHEALTH__DEMO__SEED: 'false',
      TELEHEALTH__ARCHIVE__AFTER_MONTHS: '12', RUST_LOG: 'error' },
  });
  expect(sql(`SELECT count(*) FROM archive.consultations WHERE id = '${visit}'`)).toBe('1');
  expect(sql(`SELECT count(*) FROM consultations WHERE id = '${visit}'`)).toBe('0');

  await page.goto('/consultations');
  await hydrated(page);
  const main = page.getByRole('main');
  const past = main.locator('section[aria-labelledby="past-heading"]');
  await expect(past).toContainText('Amara Okafor');
  await expectNoAxeViolations(page);
  await past.getByRole('link', { name: /^Open the record: consultation with/ }).click();
  await expect(page).toHaveURL(`/consultations/${visit}/room`);
  await hydrated(page);
  await expect(main).toContainText('Tension-type headache');
  await expectNoAxeViolations(page);
});
