// Drives the chat page in Debian's headless Chromium (playwright-core, no browser download) and prints what it
// saw as JSON: sign-in, a question answered as it is generated and then cited, a follow-up, a refused filter, CSP
// violations, and the accessibility violations axe-core finds. Run by tests/test_chat_page.py against make chat-local's servers.
import { chromium } from "playwright-core";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const [url, screenshot, mode] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const seen = { violations: [], steps: {} };

// Times, inside the page, from the Enter key to the first words of the next answer and to the whole answer with its
// sources, and counts the distinct texts the answer showed while it was being generated.
function armTimer(page) {
  return page.evaluate(() => {
    const turns = () => document.querySelectorAll(".answer-turn");
    const before = turns().length;
    window.__timing = new Promise((resolve) => {
      let pressed = 0;
      let firstWordsMs = null;
      const texts = new Set();
      document.getElementById("question").addEventListener("keydown", (event) => {
        if (event.key === "Enter") pressed = performance.now();
      }, { once: true });
      new MutationObserver((_, observer) => {
        const turn = turns()[before];
        if (!turn) return;
        const text = turn.querySelector(".answer")?.textContent || "";
        if (turn.classList.contains("streaming") && text) {
          texts.add(text);
          if (firstWordsMs === null) firstWordsMs = Math.round(performance.now() - pressed);
        }
        if (turn.classList.contains("complete")) {
          observer.disconnect();
          const answerMs = Math.round(performance.now() - pressed);
          resolve({ firstWordsMs: firstWordsMs ?? answerMs, answerMs, streamedTexts: texts.size });
        }
      }).observe(document.getElementById("conversation"), { childList: true, subtree: true, characterData: true });
    });
  });
}
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => window.__cspViolations.push(event.violatedDirective));
  });
  await page.goto(url);
  await page.locator("#notice").filter({ hasText: "Sign in" }).waitFor();
  seen.steps.signedOutNotice = await page.locator("#notice").innerText();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Group").selectOption("staff");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#ask").waitFor({ state: "visible" });
  await page.locator("#who").filter({ hasText: "staff" }).waitFor();
  seen.steps.who = await page.locator("#who").innerText();
  seen.steps.sessionStorage = await page.evaluate(() => Object.keys(sessionStorage));
  seen.steps.localStorage = await page.evaluate(() => Object.keys(localStorage));

  const question = page.getByLabel("Your question");
  await question.fill("What new practice did Aurora Dynamics announce?");
  await armTimer(page);
  await question.press("Enter");
  const first = page.locator(".answer-turn.complete").nth(0);
  await first.waitFor();
  seen.steps.first = await page.evaluate(() => window.__timing);

  seen.steps.firstAnswer = await first.locator(".answer").innerText({ timeout: 2000 });
  seen.steps.firstSources = await first.locator(".sources .title").allInnerTexts();
  seen.steps.firstLinks = await first.locator(".sources a.title").evaluateAll((links) => links.map((link) => link.href));
  if (mode === "first-answer-only") {
    seen.cspViolations = await page.evaluate(() => window.__cspViolations);
    await browser.close();
    console.log(JSON.stringify(seen));
    process.exit(0);
  }

  await question.fill("Where is that practice staffed from?");
  await armTimer(page);
  await question.press("Enter");
  const second = page.locator(".answer-turn.complete").nth(1);
  await second.waitFor();
  seen.steps.followUpTiming = await page.evaluate(() => window.__timing);
  seen.steps.followUp = await second.locator(".answer").innerText();

  await page.getByLabel("Metadata").selectOption("published_at");
  await page.getByLabel("Operator").selectOption(">");
  await page.getByLabel("Value").fill("soon");
  await page.getByRole("button", { name: "Add filter" }).click();
  seen.steps.chips = await page.locator(".chip").allInnerTexts();
  await question.fill("What did Aurora Dynamics publish recently?");
  await question.press("Enter");
  const refused = page.locator(".answer-turn.complete").nth(2);
  await refused.waitFor();
  seen.steps.refused = await refused.innerText();
  seen.steps.refusedIsAlert = (await refused.getAttribute("role")) === "alert";
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  seen.cspViolations = await page.evaluate(() => window.__cspViolations);

  // axe-core is injected as a script, which the page's CSP rightly refuses: a second context bypasses it.
  const audit = await browser.newContext({ bypassCSP: true, viewport: { width: 1100, height: 900 } });
  const auditPage = await audit.newPage();
  await auditPage.goto(url);
  await auditPage.addScriptTag({ content: await readFile(require.resolve("axe-core/axe.min.js"), "utf8") });
  const results = await auditPage.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  seen.violations = results.violations.map((violation) => ({ id: violation.id, impact: violation.impact,
                                                             nodes: violation.nodes.length }));
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
