import { test, expect, expectNoAxeViolations } from './fixtures';
import { hydrated } from './people';
import { bringToNow, doctorSignedIn, holdATime, newPatient, payWith } from './visits';

// The visit itself, in two browsers with fake camera and microphone.
test.describe.configure({ timeout: 180_000 });

test('patient and doctor meet by video, chat, the doctor writes notes and a prescription and ends the visit; the patient reads the record, downloads the PDF and rates the visit', async ({ page, browser }) => {
  const surname = await newPatient(page);
  const { doctor } = await holdATime(page, 'Neurology', 0);
  await payWith(page, '4242 4242 4242 4242');
  await expect(page).toHaveURL(/\/consultations\?paid=/);
  const id = new URL(page.url()).searchParams.get('paid')!;
  // Bring the visit to now: the room opens 10 minutes before the start.
  bringToNow(id);

  // The patient joins from their list and waits.
  await page.goto('/consultations');
  await hydrated(page);
  await page.getByRole('link', { name: new RegExp(`^Join the room: consultation with ${doctor}`) }).click();
  await expect(page).toHaveURL(`/consultations/${id}/room`);
  await hydrated(page);
  const patientRoom = page.getByRole('main');
  await expect(patientRoom.getByRole('heading', { level: 1 })).toHaveText(`Consultation with ${doctor}`);
  await expect(patientRoom.locator('.channel-state')).toHaveText('Connected');
  await expect(patientRoom.locator('.presence')).toHaveText(`${doctor} has not joined yet.`);
  await patientRoom.getByRole('button', { name: 'Check camera and microphone' }).click();
  await expect(patientRoom.locator('[data-permission]')).toHaveAttribute('data-permission', 'granted');
  await expectNoAxeViolations(page);

  // The doctor sees who is waiting and starts the visit.
  const doc = await doctorSignedIn(browser, doctor);
  await doc.goto(`/consultations/${id}/room`);
  await hydrated(doc);
  const doctorRoom = doc.getByRole('main');
  await expect(doctorRoom.locator('.presence')).toHaveText(`Maya ${surname} is waiting in the room.`);
  await expect(patientRoom.locator('.presence')).toHaveText(`${doctor} is here.`);
  // What the patient wrote when booking is in front of the doctor.
  await expect(doctorRoom.getByRole('region', { name: 'What the patient wrote when booking' }))
    .toContainText('A rash on my forearm for two weeks.');
  await expectNoAxeViolations(doc);
  await doctorRoom.getByRole('button', { name: 'Start the visit' }).click();

  // Video connects both ways.
  await expect(doctorRoom.locator('.call-state')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(patientRoom.locator('.call-state')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(patientRoom.locator('[data-status]')).toHaveText('In progress');

  // Chat both ways.
  await patientRoom.getByLabel('Message', { exact: true }).fill('Hello, the headaches started last week.');
  await patientRoom.getByRole('button', { name: 'Send' }).click();
  await expect(doctorRoom.getByRole('log')).toContainText('Hello, the headaches started last week.');
  await doctorRoom.getByLabel('Message', { exact: true }).fill('Thank you. Any nausea?');
  await doctorRoom.getByLabel('Message', { exact: true }).press('Enter');
  await expect(patientRoom.getByRole('log')).toContainText('Thank you. Any nausea?');
  await expectNoAxeViolations(page);

  // Notes save themselves.
  await doctorRoom.getByLabel('Notes', { exact: true }).fill('Tension-type headache pattern; no red flags.');
  await doctorRoom.getByLabel('Diagnosis').fill('Tension-type headache');
  await expect(doctorRoom.locator('.save-state')).toContainText('All changes saved at');

  // A prescription: a bad quantity is explained next to the field, then fixed.
  await doctorRoom.getByLabel('Name', { exact: true }).fill('Ibuprofen');
  await doctorRoom.getByLabel('Strength').fill('400 mg');
  await doctorRoom.getByLabel('Dose').fill('1 tablet');
  await doctorRoom.getByLabel('How often').fill('up to three times a day');
  await doctorRoom.getByLabel('For how long').fill('5 days');
  await doctorRoom.getByLabel('Quantity').fill('-3');
  await doctorRoom.getByRole('button', { name: 'Issue prescription' }).click();
  await expect(doctorRoom.getByLabel('Quantity')).toHaveAttribute('aria-invalid', 'true');
  await expect(doctorRoom.locator('#rx-0-quantity-error')).toContainText('cannot be negative');
  await doctorRoom.getByLabel('Quantity').fill('15');
  await doctorRoom.getByRole('button', { name: 'Issue prescription' }).click();
  await expect(doctorRoom.getByRole('heading', { name: 'Prescription, version 1' })).toBeVisible();
  await expectNoAxeViolations(doc);

  await doctorRoom.getByRole('button', { name: 'End the visit' }).click();
  await expect(doctorRoom.locator('[data-status]')).toHaveText('Completed');

  // The patient's page turns into the record: diagnosis and prescription, not the private notes.
  await expect(patientRoom.locator('.diagnosis')).toHaveText('Tension-type headache', { timeout: 15_000 });
  await expect(patientRoom).not.toContainText('no red flags');
  await expect(patientRoom.getByRole('heading', { name: 'Prescription, version 1' })).toBeVisible();
  await expect(patientRoom.locator('.medications')).toContainText('Ibuprofen 400 mg');
  const download = page.waitForEvent('download');
  await patientRoom.getByRole('link', { name: 'Download PDF' }).click();
  const pdf = await download;
  expect(pdf.suggestedFilename()).toMatch(/^prescription-[0-9a-f]{8}\.pdf$/);
  const stream = await pdf.createReadStream();
  const head = await new Promise<string>((resolve) => stream.once('data', (chunk) => resolve(chunk.toString('latin1', 0, 8))));
  expect(head).toBe('%PDF-1.4');

  // One review.
  await patientRoom.getByLabel('5 stars').check();
  // (Signed with the patient's name: one database serves many runs.)
  await patientRoom.getByLabel('Comment (optional)').fill(`Clear and kind. ${surname}`);
  await patientRoom.getByRole('button', { name: 'Send rating' }).click();
  await expect(patientRoom.locator('.review')).toContainText('Rated 5 out of 5');
  await expectNoAxeViolations(page);

  // The prescriptions page lists it as current.
  await page.goto('/prescriptions');
  await hydrated(page);
  await expect(page.getByRole('main')).toContainText('Ibuprofen 400 mg');
  await expectNoAxeViolations(page);

  // On paper: the prescription without the site's header, menu or buttons.
  await page.emulateMedia({ media: 'print' });
  await expect(page.locator('header.site-header')).toBeHidden();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeHidden();
  await expect(page.locator('.prescription').first()).toBeVisible();
  await expect(page.locator('.prescription').first()).toContainText('Ibuprofen 400 mg');
  await expect(page.getByRole('link', { name: 'Download PDF' }).first()).toBeHidden();
  await page.emulateMedia({ media: 'screen' });
  await expect(page.locator('header.site-header')).toBeVisible();

  // The review shows on the doctor's page, for everyone choosing a doctor.
  await page.goto('/doctors?specialization=Neurology');
  await hydrated(page);
  await page.getByRole('main').getByRole('link', { name: doctor, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: doctor })).toBeVisible();
  await hydrated(page);
  const reviews = page.getByRole('region', { name: 'Reviews' });
  const mine = reviews.getByRole('listitem').filter({ hasText: `Clear and kind. ${surname}` });
  await expect(mine).toHaveCount(1);
  await expect(mine.getByRole('img', { name: '5 out of 5' })).toBeVisible();
  await expect(mine).toContainText('Maya');
  await expectNoAxeViolations(page);
});
