// Nothing a person can press or type into is cut off or covered, at the widths people use:
// every visible control on the chat screen (sidebar, header, composer) lies inside the window
// and inside every box that clips it, a button's label fits in it, and no two controls overlap.
import { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { newUser, say, uniqueName } from './helpers';

/** Problems with the visible controls of `page`, as sentences (none: an empty list). */
async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const selector = '.sidebar button, .sidebar input, .sidebar a, .conv-header button, .conv-header a, .conv-header select, .composer button, .composer textarea';
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? (el as HTMLElement).innerText ?? '').trim().slice(0, 30) || el.id}" (${el.outerHTML.slice(0, 100)})`;
    const shown = [...document.querySelectorAll(selector)].filter((el) => {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      // checkVisibility also leaves out what a closed <details> holds (laid out, not shown).
      return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.opacity !== '0' &&
        !el.closest('.visually-hidden') &&
        el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true });
    });
    const boxes = shown.map((el) => ({ el, r: el.getBoundingClientRect() }));
    for (const { el, r } of boxes) {
      if (r.left < -1 || r.right > window.innerWidth + 1) problems.push(`${name(el)} leaves the window`);
      for (let up = el.parentElement; up; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
        const box = up.getBoundingClientRect();
        if (r.left < box.left - 1 || r.right > box.right + 1) {
          problems.push(`${name(el)} is cut off by ${up.tagName.toLowerCase()}.${up.className}`);
          break;
        }
      }
      if (el.tagName === 'BUTTON' && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)}'s label does not fit`);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        const overlap = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const tall = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (overlap > 1 && tall > 1) problems.push(`${name(a.el)} overlaps ${name(b.el)}`);
      }
    }
    return problems;
  });
}

for (const width of [360, 768, 1366, 1920]) {
  test(`no control is cut off or covered at ${width} px`, async ({ browser }, testInfo) => {
    test.skip(testInfo.project.name !== 'desktop', 'the widths are set here; one project is enough');
    const ann = await newUser(browser, 'ann');
    await ann.page.setViewportSize({ width, height: 800 });
    await ann.page.goto('/');
    expect(await layoutProblems(ann.page)).toEqual([]);
    // The chat takes the whole window, whatever its content (it used to shrink to it, centred).
    const chat = (await ann.page.locator('.chat').boundingBox())!;
    expect([Math.round(chat.x), Math.round(chat.width)]).toEqual([0, width]);
    await ann.page.getByLabel('New room').fill(uniqueName('layout'));
    await ann.page.getByRole('button', { name: 'Create' }).click();
    await expect(ann.page.getByTestId('conv-title')).toBeVisible();
    await say(ann.page, 'a message so the list is not empty');
    await expect(ann.page.getByTestId('message')).toHaveCount(1);
    expect(await layoutProblems(ann.page)).toEqual([]);

    // The member list open: its controls too. A wide window docks it on the right, beside
    // the messages, from the pane's top to its bottom; a narrower one drops it down over them.
    await ann.page.getByTestId('member-count').click();
    const panel = ann.page.locator('.members-panel');
    await expect(panel.getByLabel('Invite to room')).toBeVisible();
    expect(await layoutProblems(ann.page)).toEqual([]);
    const p = (await panel.boundingBox())!;
    const list = (await ann.page.getByTestId('messages').boundingBox())!;
    const pane = (await ann.page.getByRole('region', { name: 'Conversation' }).boundingBox())!;
    expect(Math.round(p.x + p.width)).toBeLessThanOrEqual(width);
    if (width >= 1200) {
      expect(Math.round(p.x + p.width)).toBe(width);
      expect(list.x + list.width).toBeLessThanOrEqual(p.x + 1);
      expect(Math.round(p.y)).toBe(Math.round(pane.y));
      expect(Math.round(p.height)).toBe(Math.round(pane.height));
    }
    await ann.context.close();
  });
}
