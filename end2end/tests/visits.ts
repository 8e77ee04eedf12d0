// Steps the booking and room stories share: a new patient, holding one of a
// demo doctor's times, paying for it.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { expect, type Browser, type Page } from '@playwright/test';
import { expectNoAxeViolations } from './fixtures';
import { PASSWORD, confirmEmail, hydrated, signIn, signUp, sql, uniqueEmail, uniqueSurname } from './people';

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
export async function holdATime(
  page: Page,
  specialization: string,
  nth: number,
  type: 'video' | 'audio' | 'chat' = 'video',
): Promise<{ doctor: string; start: string }> {
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
  await main.getByLabel('Consultation type').selectOption(type);
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


/** A paid visit of a new patient (signed in on `page`) with a demo doctor of `specialization`. */
export async function bookAVisit(
  page: Page,
  specialization: string,
  type: 'video' | 'audio' | 'chat',
): Promise<{ id: string; doctor: string; patient: string }> {
  const surname = await newPatient(page);
  const { doctor } = await holdATime(page, specialization, 0, type);
  await payWith(page, '4242 4242 4242 4242');
  await expect(page).toHaveURL(/\/consultations\?paid=/);
  const id = new URL(page.url()).searchParams.get('paid')!;
  return { id, doctor, patient: `Maya ${surname}` };
}

/**
 * Moves a visit to start a few minutes from now, so that its room is open (it
 * opens 10 minutes before the start). One minute long at a random minute, so
 * that reruns against one database never overlap.
 */
export function bringToNow(id: string) {
  const minute = 1 + Math.floor(Math.random() * 8);
  sql(`UPDATE consultations SET scheduled_at = date_trunc('minute', now()) + interval '${minute} minutes',
       scheduled_end_at = date_trunc('minute', now()) + interval '${minute + 1} minutes' WHERE id = '${id}'`);
}

/** The demo doctor called `doctor` ("Dr Ada Lovelace"), signed in in a browser context of their own. */
export async function doctorSignedIn(browser: Browser, doctor: string): Promise<Page> {
  const [first, last] = doctor.replace(/^Dr /, '').toLowerCase().split(' ');
  const page = await (await browser.newContext()).newPage();
  await signIn(page, `dr.${first}.${last}@example.com`, DEMO_PASSWORD);
  await expect(page).toHaveURL('/');
  return page;
}

/** Opens the room of consultation `id` on `page` (any origin of the app) and waits for it to hydrate. */
export async function openRoom(page: Page, id: string, origin = '') {
  await page.goto(`${origin}/consultations/${id}/room`);
  await hydrated(page);
  await expect(page.getByRole('main').locator('h1')).toHaveText(/^Consultation with /);
}

/**
 * A network link between one browser and the app that the test can cut: a
 * TCP proxy in front of the server. `cut()` drops every connection through it
 * and refuses new ones (as a lost Wi-Fi would, to the browser); `restore()`
 * lets connections through again. The app's cookies are the same through it
 * (cookies do not depend on the port).
 */
export class Link {
  private server: Server | null = null;
  private sockets = new Set<Socket>();

  private constructor(private readonly target: URL, readonly port: number) {}

  static async open(baseURL: string): Promise<Link> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const link = new Link(new URL(baseURL), port);
    await link.restore();
    return link;
  }

  /** The app's address through this link. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restore() {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async cut() {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
