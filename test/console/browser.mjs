// Drives the Vigil console in real headless Chromium (Debian's
// /usr/bin/chromium) with playwright-core from web/node_modules. Run by
// console_test.go; configured through the environment:
//
//   VIGIL_URL            base URL of the server (required)
//   VIGIL_USER/PASS      admin credentials (required)
//   SHOTS                directory for 1366×768 screenshots (required)
//   EXPECT_RULE          rule of an alert that must be listed; its detail is opened (required)
//   EXPECT_PROC=1        the detail must draw a process tree with the alerting process
//   PROC_RULE            rule of a second alert (a runtime one) whose detail must draw a
//                        process tree; screenshot provenance.png
//   EXPECT_MITRE=ID      the detail must list this MITRE technique id
//   LIVE_RULE            after printing "LIVE?" and reading a line on stdin, an alert of
//                        this rule must appear in the list without a reload
//   ASSET_KIND           asset page to open and screenshot (default hosts)
//
// Prints one "step: …" line per step and exits non-zero with the reason on failure.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../web/package.json"));
const { chromium } = require("playwright-core");

const env = (k, def) => {
  const v = process.env[k] ?? def;
  if (v === undefined) throw new Error(`environment variable ${k} is required`);
  return v;
};
const base = env("VIGIL_URL").replace(/\/$/, "");
const user = env("VIGIL_USER");
const pass = env("VIGIL_PASS");
const shots = env("SHOTS");
const rule = env("EXPECT_RULE");
const expectProc = env("EXPECT_PROC", "") === "1";
const expectMitre = env("EXPECT_MITRE", "");
const liveRule = env("LIVE_RULE", "");
const assetKind = env("ASSET_KIND", "hosts");
const procRule = env("PROC_RULE", "");
mkdirSync(shots, { recursive: true });

const step = (s) => console.log("step: " + s);
const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const profile = mkdtempSync(path.join(tmpdir(), "vigil-chromium-"));
// A fresh profile directory (--user-data-dir) per run.
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1366, height: 768 },
  deviceScaleFactor: 1,
});
const problems = [];
let exitCode = 0;
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(15000);
  const origin = new URL(base).origin;
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A 401 of /api/v1/me before login and the wrong-password attempt are expected.
    if (m.type() === "error" && !/status of 401/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith("data:")) problems.push(`request to another origin: ${u}`);
  });
  const shot = async (name, full = false) => {
    await page.screenshot({ path: path.join(shots, name), fullPage: full });
    step(`screenshot ${name}`);
  };

  // Login: a client route redirects to the login page, which remembers it.
  await page.goto(base + "/alerts?range=all");
  await page.waitForSelector("form.login-card");
  if (!page.url().includes("/login")) throw new Error(`not redirected to /login: ${page.url()}`);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", pass + "-wrong");
  await page.click("button[type=submit]");
  await page.waitForSelector(".login-card .error");
  step("wrong password refused: " + (await page.textContent(".login-card .error")));
  await page.fill("input[name=password]", pass);
  await shot("login.png");
  await page.click("button[type=submit]");

  // Back on the alert list the login came from.
  await page.waitForSelector(".alerts-table");
  const row = page.locator("tr.row-link", { has: page.locator(".rule-name", { hasText: rule }) }).first();
  await row.waitFor();
  step(`alert list shows "${rule}"`);
  await page.waitForSelector(".live-live");
  step("live stream connected");

  if (liveRule) {
    const before = await page.locator("tr.row-link").count();
    console.log("LIVE?");
    await stdinLines.next();
    await page.locator("tr.row-link.fresh", { has: page.locator(".rule-name", { hasText: liveRule }) }).first().waitFor({ timeout: 20000 });
    const after = await page.locator("tr.row-link").count();
    if (after <= before) throw new Error(`live alert shown but the row count went from ${before} to ${after}`);
    step(`live alert "${liveRule}" appeared without reload (${before} → ${after} rows)`);
  }
  await shot("alerts.png");

  // Filters: free text narrows the list to the rule.
  await page.fill("input[name=q]", rule);
  await page.press("input[name=q]", "Enter");
  await page.waitForFunction((r) => {
    const rows = [...document.querySelectorAll("tr.row-link .rule-name")];
    return rows.length > 0 && rows.every((e) => e.textContent.toLowerCase().includes(r.toLowerCase()) || e.closest("tr").textContent.toLowerCase().includes(r.toLowerCase()));
  }, rule);
  if (!page.url().includes("q=")) throw new Error("the text filter is not in the URL: " + page.url());
  step("text filter applied: " + page.url().slice(base.length));

  // Detail.
  await page.locator("tr.row-link", { has: page.locator(".rule-name", { hasText: rule }) }).first().click();
  await page.waitForSelector(".detail-title h1");
  const title = await page.textContent(".detail-title h1");
  if (title.trim() !== rule) throw new Error(`detail shows rule "${title}", want "${rule}"`);
  await page.waitForSelector(".raw pre");
  const raw = await page.textContent(".raw pre");
  JSON.parse(raw);
  step(`detail of "${rule}" with ${raw.length} bytes of output_fields`);
  if (expectProc) {
    await page.waitForSelector(".proctree .proc-self");
    const self = await page.textContent(".proctree .proc-self .proc-name");
    const anc = await page.locator(".proctree .proc-ancestor").count();
    const kids = await page.locator(".proctree .proc-child").count();
    step(`process tree: ${anc} ancestors → ${self} (highlighted) → ${kids} children`);
  }
  if (expectMitre) {
    await page.locator(".mitre .mitre-id", { hasText: expectMitre }).first().waitFor();
    const name = await page.locator(".mitre li", { hasText: expectMitre }).first().locator(".mitre-name").textContent();
    step(`MITRE ${expectMitre} ${name}`);
  }
  await shot("detail.png");
  await shot("detail-full.png", true);

  if (procRule) {
    await page.goto(base + "/alerts?range=all&rule=" + encodeURIComponent(procRule));
    await page.locator("tr.row-link", { has: page.locator(".rule-name", { hasText: procRule }) }).first().click();
    await page.waitForSelector(".proctree .proc-self");
    const self = await page.textContent(".proctree .proc-self .proc-name");
    const anc = await page.locator(".proctree .proc-ancestor").count();
    step(`runtime alert "${procRule}": process tree ${anc} ancestors shown → ${self} (highlighted)`);
    // Admins get the response actions; a host process offers capture and
    // kill-process only, each behind a confirmation (dismissed here).
    await page.locator("button", { hasText: "Capture evidence" }).waitFor();
    await page.locator("button", { hasText: "Kill process" }).waitFor();
    if (await page.locator("button", { hasText: "Pause" }).count()) throw new Error("container actions offered for a host process");
    page.once("dialog", (d) => d.dismiss());
    await page.locator("button", { hasText: "Capture evidence" }).click();
    step("response actions offered (capture, kill-process); confirmation dismissed");
    await page.locator(".proctree").scrollIntoViewIfNeeded();
    await shot("provenance.png");
    await page.goBack();
    await page.goBack();
    await page.waitForSelector(".detail-title h1");
  }

  // Triage (admin): acknowledge with a note; the status and timeline update.
  await page.fill("textarea[name=note]", "looking into it (browser test)");
  await page.click(".triage-actions button:has-text('Acknowledge')");
  await page.waitForSelector(".detail-title .status-acknowledged");
  await page.locator(".timeline li", { hasText: "looking into it (browser test)" }).first().waitFor();
  step("acknowledged with a note; timeline updated");

  // Dashboard.
  await page.click("nav a:has-text('Dashboard')");
  await page.waitForFunction(() => {
    const t = document.querySelector("[data-testid=total]");
    return t && /^\d+$/.test(t.textContent) && Number(t.textContent) > 0;
  });
  await page.waitForSelector(".chart svg rect[fill^='#']");
  step("dashboard total " + (await page.textContent("[data-testid=total]")));
  await shot("dashboard.png");

  // Assets.
  await page.goto(base + "/assets/" + assetKind);
  await page.waitForSelector(".table tbody tr.row-link");
  await page.locator(".table tbody tr.row-link").first().click();
  await page.waitForSelector(".asset-detail");
  step(`${assetKind}: ${await page.locator(".table tbody tr.row-link").count()} listed`);
  await shot("assets.png");

  // Sign out: back to the login page, the API refuses the old session.
  await page.click("button:has-text('Sign out')");
  await page.waitForSelector("form.login-card");
  const status = await page.evaluate(async () => (await fetch("/api/v1/alerts")).status);
  if (status !== 401) throw new Error(`after sign-out GET /api/v1/alerts answered ${status}, want 401`);
  step("signed out");

  if (problems.length) throw new Error("problems in the page:\n  " + problems.join("\n  "));
  step("ok");
} catch (e) {
  console.error("FAIL: " + (e.stack || e.message));
  if (problems.length) console.error("page problems:\n  " + problems.join("\n  "));
  exitCode = 1;
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
