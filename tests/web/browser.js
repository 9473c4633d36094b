// The dashboard page in real headless Chromium (Debian's chromium, driven by
// puppeteer-core from var/npm-web: scripts/install-web-test.sh). Run by the
// web tests; everything comes from the environment:
//
//   ORCH_WEB_URL     the monitor's web endpoint (http://127.0.0.1:P)
//   ORCH_WEB_TOKEN   bearer token, passed as the page wants it (/#token=)
//   ORCH_WEB_EXPECT  JSON {"READY": 2, "total": 5, ...}: wait until the page's
//                    counts show exactly these
//   ORCH_WEB_EXPECT_END  the same, waited for after the followed requirement
//                    is COMPLETE (the counts come on the overview's own poll)
//   ORCH_WEB_FOLLOW  a requirement id: find it with the list's search box, see
//                    it READY, touch ORCH_WEB_MARK, then see it reach COMPLETE
//                    without the page reloading; open its detail
//   ORCH_WEB_SHOT    where to save a screenshot (PNG)
//   ORCH_WEB_OUT     where to write what was seen (JSON: the counts, the roadmap
//                    ETA's text and source, the statuses followed, ...)
//   ORCH_WEB_TIMEOUT_MS  bound on each wait (default 30000)
//
// Exit 0 when everything expected was seen; 1 with one line saying what was
// not. The browser is always closed.
"use strict";
const fs = require("fs");
const path = require("path");

const modules = process.env.ORCH_WEB_NODE_MODULES || path.join(__dirname, "../../var/npm-web/node_modules");
const puppeteer = require(path.join(modules, "puppeteer-core"));

const url = process.env.ORCH_WEB_URL;
const timeout = +(process.env.ORCH_WEB_TIMEOUT_MS || 30000);
const out = { seen: [], counts: null };

async function counts(page) {
  return page.evaluate(() => {
    const c = {};
    for (const e of document.querySelectorAll("#counts b[id^=count-]")) c[e.id.slice(6)] = +e.textContent.replace(/,/g, "");
    return c;
  });
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 1000 });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    let navigations = 0;
    page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });

    const t0 = Date.now();
    await page.goto(url + "/" + (process.env.ORCH_WEB_TOKEN ? "#token=" + encodeURIComponent(process.env.ORCH_WEB_TOKEN) : ""));
    await page.waitForFunction(() => document.querySelector("#count-total") && document.querySelector("#updated").dataset.ok === "1",
                               { timeout });
    out.firstDataMs = Date.now() - t0;
    await page.waitForFunction(() => document.querySelector("#graph svg"), { timeout });
    out.graphMs = Date.now() - t0;
    out.graphNodes = await page.evaluate(() => document.querySelectorAll("#graph g.node").length);
    out.graphCritical = await page.evaluate(() => document.querySelectorAll("#graph g.node.critical").length);
    out.listRows = await page.evaluate(() => document.querySelectorAll("#req-table tbody tr").length);
    await page.evaluate(() => { window.__orchSamePage = 42; });

    // waits until the page's counts show want (a JSON object of status: count)
    async function countsReach(want) {
      try {
        await page.waitForFunction((want) => {
          for (const [k, v] of Object.entries(want)) {
            const e = document.querySelector("#count-" + k);
            if (!e || +e.textContent.replace(/,/g, "") !== v) return false;
          }
          return true;
        }, { timeout, polling: 100 }, want);
      } catch (e) {
        out.counts = await counts(page);
        throw new Error("the page's counts " + JSON.stringify(out.counts) + " never matched " + JSON.stringify(want));
      }
    }
    if (process.env.ORCH_WEB_EXPECT) await countsReach(JSON.parse(process.env.ORCH_WEB_EXPECT));
    out.counts = await counts(page);
    // the roadmap ETA comes with the overview; a forecast the scheduler was
    // too slow to give keeps the monitor's estimate until the next poll
    const src = process.env.ORCH_WEB_ETA_SOURCE;
    if (src)
      await page.waitForFunction((src) => {
        const e = document.querySelector("#roadmap-eta");
        return e && e.dataset.source === src;
      }, { timeout, polling: 100 }, src).catch(() => {});
    out.roadmapEta = await page.evaluate(() => {
      const e = document.querySelector("#roadmap-eta");
      return e ? { text: e.textContent, source: e.dataset.source } : null;
    });

    const id = process.env.ORCH_WEB_FOLLOW;
    if (id) {
      await page.select("#list-status", "");
      await page.type("#list-q", id);
      // every status the row shows, as it changes, collected in the page
      await page.evaluate((id) => {
        window.__orchSeen = [];
        const note = () => {
          const s = document.querySelector(`#req-table tr[data-id="${id}"] [data-status]`);
          const v = s && s.dataset.status;
          if (v && window.__orchSeen[window.__orchSeen.length - 1] !== v) window.__orchSeen.push(v);
        };
        new MutationObserver(note).observe(document.querySelector("#req-table"), { childList: true, subtree: true });
        note();
      }, id);
      await page.waitForFunction(() => window.__orchSeen.includes("READY"), { timeout, polling: 50 });
      if (process.env.ORCH_WEB_MARK) fs.writeFileSync(process.env.ORCH_WEB_MARK, "READY\n");
      await page.waitForFunction(() => window.__orchSeen.includes("COMPLETE"), { timeout: timeout * 2, polling: 50 });
      out.seen = await page.evaluate(() => window.__orchSeen);
      await page.click(`#req-table tr[data-id="${id}"]`);
      await page.waitForFunction(() => {
        const f = document.querySelector('#detail-fields [data-field="status"]');
        return f && f.textContent === "COMPLETE";
      }, { timeout });
      if (process.env.ORCH_WEB_WANT_STEPS)
        await page.waitForFunction(() => document.querySelector("#detail-steps"), { timeout });
      out.detail = await page.evaluate(() => document.querySelector("#detail-body").innerText);
      const same = await page.evaluate(() => window.__orchSamePage);
      if (same !== 42 || navigations !== 1) throw new Error("the page reloaded while following " + id);
      // the counts come with the overview, on its own poll: they catch up
      if (process.env.ORCH_WEB_EXPECT_END) await countsReach(JSON.parse(process.env.ORCH_WEB_EXPECT_END));
      out.counts = await counts(page);
    }
    if (process.env.ORCH_WEB_SHOT) {
      // the graph as it is now, then the whole page (the header is sticky
      // and the detail fixed: a tall window rather than a stitched page)
      await page.evaluate(() => tickGraph());
      const h = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.setViewport({ width: 1440, height: Math.min(Math.max(h, 1000), 4000) });
      await new Promise((r) => setTimeout(r, 300));
      await page.screenshot({ path: process.env.ORCH_WEB_SHOT });
    }
    if (errors.length) throw new Error("script errors in the page: " + errors.join("; "));
  } finally {
    await browser.close();
    if (process.env.ORCH_WEB_OUT) fs.writeFileSync(process.env.ORCH_WEB_OUT, JSON.stringify(out, null, 1) + "\n");
  }
}

main().then(() => process.exit(0), (e) => { console.error("browser: " + e.message); process.exit(1); });
