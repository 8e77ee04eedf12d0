import { test, expect, expectNoAxeViolations } from './fixtures';
import { sql } from './people';
import { Link, bookAVisit, bringToNow, doctorSignedIn, openRoom } from './visits';

// The room's channel when the patient's network goes away: it comes back by
// itself and catches up, or, when the room no longer lets the patient in,
// stops trying and says why.
test.describe.configure({ timeout: 180_000 });

// While the link is cut, Chromium reports every failed reconnect attempt
// ("WebSocket connection to 'ws://…' failed", "net::ERR_CONNECTION_REFUSED")
// and a refused handshake ("Unexpected response code: 409") on the console:
// expected here, and only for the room's channel and the page's own requests.
// (A list of patterns is given as [value, options], or Playwright would read it as such.)
test.use({
  allowedBrowserErrors: [
    [
      /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws\/consultations\/[0-9a-f-]+' failed/,
      /^Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|CONNECTION_CLOSED)$/,
    ],
    { scope: 'test' },
  ],
});

test('a patient whose connection drops sees, once it is back, what the doctor wrote meanwhile, and what they wrote offline is delivered once', async ({ page, browser, baseURL }) => {
  const { id, doctor, patient } = await bookAVisit(page, 'Pediatrics', 'chat');
  bringToNow(id);
  // The patient's browser reaches the room through a link the test can cut.
  const link = await Link.open(baseURL!);
  await openRoom(page, id, link.origin);
  const patientRoom = page.getByRole('main');
  const channel = patientRoom.locator('.channel-state');
  await expect(channel).toHaveText('Connected');

  const doc = await doctorSignedIn(browser, doctor);
  await openRoom(doc, id);
  const doctorRoom = doc.getByRole('main');
  await doctorRoom.getByRole('button', { name: 'Start the visit' }).click();
  await expect(patientRoom.locator('[data-status]')).toHaveText('In progress');
  await doctorRoom.getByLabel('Message', { exact: true }).fill('Good morning. How is the cough?');
  await doctorRoom.getByRole('button', { name: 'Send' }).click();
  await expect(patientRoom.getByRole('log')).toContainText('Good morning. How is the cough?');

  // The patient's network goes away.
  await link.cut();
  await expect(channel).toHaveAttribute('data-state', /reconnecting|connecting/);
  await expect(doctorRoom.locator('.presence')).toHaveText(`${patient} has not arrived yet.`);

  // Meanwhile the doctor writes, and so does the patient (it waits in their browser).
  await doctorRoom.getByLabel('Message', { exact: true }).fill('Does the child have a fever?');
  await doctorRoom.getByRole('button', { name: 'Send' }).click();
  await expect(doctorRoom.getByRole('log')).toContainText('Does the child have a fever?');
  await patientRoom.getByLabel('Message', { exact: true }).fill('Better, thank you.');
  await patientRoom.getByRole('button', { name: 'Send' }).click();
  await expect(patientRoom.locator('.message.pending')).toContainText('Better, thank you.');
  await expect(patientRoom.getByRole('log')).not.toContainText('Does the child have a fever?');

  // The network is back: without a reload, the patient sees the doctor's question, once,
  // in order; the doctor gets the patient's message, once.
  await link.restore();
  await expect(channel).toHaveText('Connected', { timeout: 30_000 });
  const patientLog = patientRoom.getByRole('log').getByRole('listitem');
  await expect(patientLog.filter({ hasText: 'Does the child have a fever?' })).toHaveCount(1);
  await expect(patientLog.filter({ hasText: 'Good morning. How is the cough?' })).toHaveCount(1);
  await expect(patientLog.filter({ hasText: 'Better, thank you.' })).toHaveCount(1);
  await expect(patientRoom.locator('.message.pending')).toHaveCount(0);
  const doctorLog = doctorRoom.getByRole('log').getByRole('listitem');
  await expect(doctorLog.filter({ hasText: 'Better, thank you.' })).toHaveCount(1);
  await expect(doctorRoom.locator('.presence')).toHaveText(`${patient} is waiting in the room.`);
  await expect(patientRoom.locator('.presence')).toHaveText(`${doctor} is here.`);
  const order = await patientLog.locator('p').allTextContents();
  expect(order.indexOf('Good morning. How is the cough?')).toBeLessThan(order.indexOf('Does the child have a fever?'));
  await expectNoAxeViolations(page);

  // The chat goes on as before.
  await doctorRoom.getByLabel('Message', { exact: true }).fill('Good. Plenty of fluids.');
  await doctorRoom.getByRole('button', { name: 'Send' }).click();
  await expect(patientLog.filter({ hasText: 'Good. Plenty of fluids.' })).toHaveCount(1);
  await link.cut();
});

test('when the room no longer lets the patient in after a drop, the channel stops trying and says why', async ({ page, baseURL }) => {
  const { id } = await bookAVisit(page, 'Endocrinology', 'chat');
  bringToNow(id);
  const link = await Link.open(baseURL!);
  await openRoom(page, id, link.origin);
  const room = page.getByRole('main');
  const channel = room.locator('.channel-state');
  await expect(channel).toHaveText('Connected');

  // While the patient's network is away, the visit is moved to tomorrow: the room is not open any more.
  await link.cut();
  await expect(channel).toHaveAttribute('data-state', /reconnecting|connecting/);
  sql(`UPDATE consultations SET scheduled_at = date_trunc('minute', now()) + interval '1 day',
       scheduled_end_at = date_trunc('minute', now()) + interval '1 day 30 minutes' WHERE id = '${id}'`);
  let attempts = 0;
  page.on('websocket', () => attempts++);
  await link.restore();

  // The next attempt is refused: the channel gives up and tells the patient why.
  await expect(channel).toHaveAttribute('data-state', 'closed', { timeout: 30_000 });
  await expect(channel).toHaveText('Disconnected');
  await expect(room.getByRole('alert').filter({ hasText: 'The room is not open: it opens at' })).toBeVisible();
  await expectNoAxeViolations(page);
  // And it stays given up: no attempt in the next 20 seconds (retries would come at least every 15).
  const after = attempts;
  expect(after).toBeGreaterThanOrEqual(1);
  await page.waitForTimeout(20_000);
  expect(attempts).toBe(after);
  await expect(channel).toHaveAttribute('data-state', 'closed');
  await link.cut();
});
