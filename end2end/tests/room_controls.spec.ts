import type { Page } from '@playwright/test';
import { test, expect, expectNoAxeViolations } from './fixtures';
import { sql } from './people';
import { bookAVisit, bringToNow, doctorSignedIn, openRoom } from './visits';

// The room's controls: the camera check before the room opens, mute, camera
// off, hang up and rejoin, and the doctor's notes open in two tabs.
test.describe.configure({ timeout: 180_000 });

/** Whether the local camera preview's track of `kind` is live and enabled, as the browser has it. */
async function localTrack(page: Page, kind: 'audio' | 'video'): Promise<{ live: boolean; enabled: boolean } | null> {
  return page.evaluate((kind) => {
    const video = document.getElementById('local-media') as HTMLVideoElement | null;
    const stream = video?.srcObject as MediaStream | null;
    const track = (kind === 'audio' ? stream?.getAudioTracks() : stream?.getVideoTracks())?.[0];
    return track ? { live: track.readyState === 'live', enabled: track.enabled } : null;
  }, kind);
}

test('before the room opens the patient can already check the camera and microphone', async ({ page }) => {
  const { id, doctor } = await bookAVisit(page, 'Dermatology', 'video');
  // Two hours away: the room opens 10 minutes before the start.
  sql(`UPDATE consultations SET scheduled_at = date_trunc('minute', now()) + interval '2 hours',
       scheduled_end_at = date_trunc('minute', now()) + interval '2 hours 30 minutes' WHERE id = '${id}'`);

  await openRoom(page, id);
  const room = page.getByRole('main');
  await expect(room.getByRole('heading', { level: 1 })).toHaveText(`Consultation with ${doctor}`);
  await expect(room).toContainText(/The room opens at \d\d:\d\d( on [^.]+)?\. Come back then; you can check your camera and microphone now\./);
  // Not in the room yet: no channel, no chat.
  await expect(room.locator('.channel-state')).toHaveCount(0);

  const check = room.getByRole('region', { name: 'Camera and microphone' });
  await expect(check.locator('[data-permission]')).toHaveText('Not checked yet.');
  await check.getByRole('button', { name: 'Check camera and microphone' }).click();
  await expect(check.locator('[data-permission]')).toHaveAttribute('data-permission', 'granted');
  await expect(check.locator('[data-permission]')).toHaveText('Camera and microphone are working.');
  expect(await localTrack(page, 'video')).toEqual({ live: true, enabled: true });
  expect(await localTrack(page, 'audio')).toEqual({ live: true, enabled: true });
  await expectNoAxeViolations(page);
});

test('in a video call the patient mutes and turns the camera off, the doctor hangs up and calls again, then the patient hangs up and rejoins', async ({ page, browser }) => {
  const { id, doctor } = await bookAVisit(page, 'Cardiology', 'video');
  bringToNow(id);
  await openRoom(page, id);
  const patientRoom = page.getByRole('main');
  await expect(patientRoom.locator('.channel-state')).toHaveText('Connected');

  const doc = await doctorSignedIn(browser, doctor);
  await openRoom(doc, id);
  const doctorRoom = doc.getByRole('main');
  await doctorRoom.getByRole('button', { name: 'Start the visit' }).click();
  const patientCall = patientRoom.locator('.call-state');
  const doctorCall = doctorRoom.locator('.call-state');
  await expect(doctorCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(patientCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(patientCall).toHaveText('Connected');

  // Mute: the button says so and the microphone's track stops carrying sound.
  const call = patientRoom.getByRole('region', { name: 'Call' });
  await call.getByRole('button', { name: 'Mute' }).click();
  await expect(call.getByRole('button', { name: 'Unmute' })).toHaveAttribute('aria-pressed', 'true');
  expect(await localTrack(page, 'audio')).toEqual({ live: true, enabled: false });
  expect(await localTrack(page, 'video')).toEqual({ live: true, enabled: true });

  // Camera off: the camera's track is disabled too; unmuting brings the sound back only.
  await call.getByRole('button', { name: 'Camera off' }).click();
  await expect(call.getByRole('button', { name: 'Camera on' })).toHaveAttribute('aria-pressed', 'true');
  expect(await localTrack(page, 'video')).toEqual({ live: true, enabled: false });
  await call.getByRole('button', { name: 'Unmute' }).click();
  await expect(call.getByRole('button', { name: 'Mute' })).toHaveAttribute('aria-pressed', 'false');
  expect(await localTrack(page, 'audio')).toEqual({ live: true, enabled: true });
  expect(await localTrack(page, 'video')).toEqual({ live: true, enabled: false });
  await expect(patientCall).toHaveAttribute('data-state', 'connected');
  await expectNoAxeViolations(page);

  // The doctor hangs up: the call ends on both sides, the camera is released.
  await doc.evaluate(() => {
    (window as unknown as { preview: MediaProvider | null }).preview = (document.getElementById('local-media') as HTMLVideoElement).srcObject;
  });
  await doctorRoom.getByRole('button', { name: 'Hang up' }).click();
  await expect(doctorCall).toHaveAttribute('data-state', 'closed');
  await expect(doctorCall).toHaveText('Call ended.');
  expect(await localTrack(doc, 'video')).toBeNull();
  const released = await doc.evaluate(() =>
    ((window as unknown as { preview: MediaStream }).preview.getTracks().map((t) => t.readyState)));
  expect(released).toEqual(['ended', 'ended']);
  await expect(patientCall).toHaveAttribute('data-state', 'closed');
  await expect(patientCall).toHaveText('Call ended.');
  await expectNoAxeViolations(doc);

  // The doctor calls again, without reloading.
  await doctorRoom.getByRole('button', { name: 'Rejoin the call' }).click();
  await expect(doctorCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(patientCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(doctorRoom.getByRole('button', { name: 'Hang up' })).toBeVisible();

  // The patient hangs up and comes back: the doctor's page calls them again.
  await call.getByRole('button', { name: 'Hang up' }).click();
  await expect(patientCall).toHaveAttribute('data-state', 'closed');
  await expect(doctorCall).toHaveAttribute('data-state', 'closed');
  expect(await localTrack(page, 'audio')).toBeNull();
  await call.getByRole('button', { name: 'Rejoin the call' }).click();
  await expect(patientCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(doctorCall).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  // Still the patient's choice from before: the camera stays off.
  await expect(call.getByRole('button', { name: 'Camera on' })).toHaveAttribute('aria-pressed', 'true');
  expect(await localTrack(page, 'video')).toEqual({ live: true, enabled: false });
  expect(await localTrack(page, 'audio')).toEqual({ live: true, enabled: true });
});

test('notes open in two tabs: a stale tab never erases the longer saved text without asking, and either choice is kept', async ({ page, browser }) => {
  const { id, doctor } = await bookAVisit(page, 'Psychiatry', 'chat');
  bringToNow(id);
  const saved = () => sql(`SELECT notes FROM consultations WHERE id = '${id}'`);

  // Tab A starts the visit; tab B is opened meanwhile and holds the notes as they were (empty).
  const tabA = await doctorSignedIn(browser, doctor);
  await openRoom(tabA, id);
  const a = tabA.getByRole('main');
  // What the patient wrote when booking is in front of the doctor.
  await expect(a.getByRole('region', { name: 'What the patient wrote when booking' }))
    .toContainText('A rash on my forearm for two weeks.');
  await a.getByRole('button', { name: 'Start the visit' }).click();
  await expect(a.locator('[data-status]')).toHaveText('In progress');
  const tabB = await tabA.context().newPage();
  await openRoom(tabB, id);
  const b = tabB.getByRole('main');
  await expect(b.locator('.save-state')).toHaveText('Nothing written yet.');

  const long = 'Low mood for three months, sleeps badly, appetite unchanged. No thoughts of self-harm.';
  await a.getByLabel('Notes', { exact: true }).fill(long);
  await expect(a.locator('.save-state')).toContainText('All changes saved at');
  expect(saved()).toBe(long);

  // Tab B, still on the empty notes, writes something shorter and different: it is asked, nothing is erased.
  await b.getByLabel('Notes', { exact: true }).fill('Low mood.');
  const conflict = b.getByRole('alert').filter({ hasText: 'Another tab saved these notes meanwhile' });
  await expect(conflict).toBeVisible();
  await expect(b.locator('.save-state')).toHaveText('Not saved: another tab saved different notes (see below).');
  await expect(conflict).toContainText(long);
  expect(saved()).toBe(long);
  await expectNoAxeViolations(tabB);

  // "Use the saved text": tab B now shows the longer notes, and the saved text is unchanged.
  await conflict.getByRole('button', { name: 'Use the saved text' }).click();
  await expect(conflict).toBeHidden();
  await expect(b.getByLabel('Notes', { exact: true })).toHaveValue(long);
  await expect(b.locator('.save-state')).toHaveText('Showing the notes saved in another tab.');
  expect(saved()).toBe(long);

  // Tab B adds to them (it is up to date): saved as usual.
  await b.getByLabel('Notes', { exact: true }).fill(`${long} Started sertraline 50 mg.`);
  await expect(b.locator('.save-state')).toContainText('All changes saved at');
  expect(saved()).toBe(`${long} Started sertraline 50 mg.`);

  // Tab A is now the stale one. What it writes contains nothing of B's addition: it is asked again,
  // and this time keeps its own text on purpose.
  await expect(a.getByLabel('Notes', { exact: true })).toHaveValue(long);
  await a.getByLabel('Notes', { exact: true }).fill(`${long} Plan: talking therapy.`);
  const conflictA = a.getByRole('alert').filter({ hasText: 'Another tab saved these notes meanwhile' });
  await expect(conflictA).toContainText('Started sertraline 50 mg.');
  expect(saved()).toBe(`${long} Started sertraline 50 mg.`);
  await conflictA.getByRole('button', { name: 'Keep mine (replace the saved text)' }).click();
  await expect(a.locator('.save-state')).toContainText('All changes saved at');
  expect(saved()).toBe(`${long} Plan: talking therapy.`);

  // A stale tab whose text contains everything saved wins without a question.
  await b.getByLabel('Notes', { exact: true }).fill(`${long} Plan: talking therapy. Review in two weeks.`);
  await expect(b.locator('.save-state')).toContainText('All changes saved at');
  await expect(b.getByRole('alert').filter({ hasText: 'Another tab saved these notes meanwhile' })).toHaveCount(0);
  expect(saved()).toBe(`${long} Plan: talking therapy. Review in two weeks.`);
});
