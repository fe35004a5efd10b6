// examples/mixer in real Chromium (Debian's, driven by playwright-core, headless): two pages, the
// mixer CLI and the udsbus CLI stay in sync through the bus. A `set` from a CLI moves both
// sliders; a slider moved in one page shows in the other, in `udsbus get` and in `udsbus watch`;
// program names are shown as text. The test saves a screenshot to test-artifacts/.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  DaemonProc,
  example,
  Proc,
  requireCommand,
  runCli,
  tempDir,
} from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const browserReady = requireCommand(CHROMIUM, 'chromium');
const ARTIFACTS = new URL('../../../test-artifacts/', import.meta.url).pathname;

/**
 * Polls `read` until it returns `want`, for 5 s at most. Reads go through playwright locators,
 * which run outside the page's own script world: the page's CSP (no eval) does not apply.
 */
async function until<T>(read: () => Promise<T>, want: T, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let got = await read();
  while (!isDeepStrictEqual(got, want)) {
    if (Date.now() > deadline)
      throw new Error(`${what}: wanted ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    got = await read();
  }
}

/** Waits until the page's slider holds `value`, and its label says so. */
async function sliderAt(page: Page, value: string): Promise<void> {
  const read = async () => [
    await page.locator('#volume').inputValue(),
    await page.locator('#volume-text').textContent(),
  ];
  await until(read, [value, `${Math.round(Number(value) * 100)}%`], 'the slider');
}

/** The program list as the page shows it: each item's text, and how many elements are inside. */
async function programs(page: Page): Promise<{ texts: string[]; elements: number }> {
  return {
    texts: await page.locator('#programs li').allTextContents(),
    elements: await page.locator('#programs li *').count(),
  };
}

void test(
  'mixer example: two Chromium pages, the mixer CLI and udsbus stay in sync',
  { skip: browserReady === true ? false : browserReady, timeout: 90_000 },
  async (t) => {
    const tmp = tempDir();
    const procs: Proc[] = [];
    let daemon: DaemonProc | undefined;
    let browser: Browser | undefined;
    try {
      daemon = await DaemonProc.start(join(tmp.dir, 'bus.sock'));
      const sock = ['-s', daemon.path];
      const mixer = new Proc(sock, {}, example('mixer/mixer.js'));
      procs.push(mixer);
      await mixer.stderrHas('mixer: serving mixer: volume 0.2');
      const web = new Proc([...sock, '--port', '0'], {}, example('mixer/web.js'));
      procs.push(web);
      await web.stderrHas('mixer-web: listening on');
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(web.stderr)![1]!;
      const watch = new Proc(['watch', 'mixer.volume', ...sock]);
      procs.push(watch);
      await watch.stderrHas('udsbus: watching mixer.volume');
      const mixerCli = (...args: string[]) =>
        runCli([...sock, ...args], { script: example('mixer/cli.js') });

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      const context = await browser.newContext({ viewport: { width: 640, height: 420 } });
      const [a, b] = [await context.newPage(), await context.newPage()];
      for (const page of [a, b]) {
        await page.goto(url);
        await until(() => page.locator('#status').textContent(), 'live', 'the page status');
        await sliderAt(page, '0.2');
      }

      // A set from the mixer CLI moves both sliders.
      const set = await mixerCli('set', '0.7');
      assert.equal(set.code, 0, set.stderr);
      assert.equal(set.stdout, 'volume 0.7\n');
      await Promise.all([sliderAt(a, '0.7'), sliderAt(b, '0.7')]);

      // So does a set from the udsbus CLI, on the shared-state key itself.
      const raw = await runCli(['set', 'mixer.volume', '0.9', ...sock]);
      assert.equal(raw.code, 0, raw.stderr);
      await Promise.all([sliderAt(a, '0.9'), sliderAt(b, '0.9')]);

      // A slider moved in one page shows in the other, in udsbus get and in udsbus watch.
      await a.locator('#volume').fill('0.35');
      await sliderAt(b, '0.35');
      const get = await runCli(['get', 'mixer.volume', ...sock]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, '0.35\n');
      await watch.waitFor((p) => p.stdout.split('\n').includes('0.35'), 'udsbus watch: 0.35');

      // The keyboard moves it a step, from the other page this time.
      await b.locator('#volume').focus();
      await b.keyboard.press('ArrowRight');
      await sliderAt(a, '0.36');
      assert.equal((await runCli(['get', 'mixer.volume', ...sock])).stdout, '0.36\n');

      // Program names are shown as text, in both pages.
      const hostile = '<img src=x onerror="document.title=\'pwned\'">';
      for (const name of ['firefox', hostile]) {
        const r = await mixerCli('add-program', name);
        assert.equal(r.code, 0, r.stderr);
      }
      for (const page of [a, b]) {
        await until(
          () => programs(page),
          { texts: ['firefox', hostile], elements: 0 },
          'the program list',
        );
        assert.equal(await page.title(), 'mixer');
      }
      const removed = await mixerCli('remove-program', 'firefox');
      assert.equal(removed.stdout, `volume 0.36\nprogram ${hostile}\n`);
      await until(() => programs(b), { texts: [hostile], elements: 0 }, 'the program list');

      // What every watcher saw, in order: the seeded value, then each change.
      assert.deepEqual(watch.stdout.split('\n').filter(Boolean), [
        '0.2',
        '0.7',
        '0.9',
        '0.35',
        '0.36',
      ]);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'example-mixer.png');
      await a.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      assert.ok(png.length > 1000);
      t.diagnostic(`screenshot: ${shot}`);
    } finally {
      await browser?.close();
      for (const p of procs) {
        p.kill('SIGTERM');
        await p.exit();
      }
      await daemon?.stop();
      tmp.cleanup();
    }
  },
);
