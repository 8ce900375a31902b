// The verification page: reads the label (URL), loads the piece's bundle from this site,
// runs every check in the browser and shows each as a line, then the piece's timeline
// and the verdict. Everything from a bundle is shown as text (never as HTML).
import { sha256 } from '@noble/hashes/sha2.js';
import { verifyBundleText, rpcClient, hex, STEP_ROLES, GROUPS, own } from './verify.js';
import { pickLanguage, translator, STRINGS } from './i18n.js';

const LINES = ['file', 'unchanged', 'signatures', 'history', 'merkle', 'chain'];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null) continue;
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child == null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// the file name of an item's bundle: the item id with anything but [A-Za-z0-9._-] as ~XX
export function safeName(item) {
  return Array.from(new TextEncoder().encode(item), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(c) ? c : '~' + b.toString(16).padStart(2, '0').toUpperCase();
  }).join('');
}

function readConfig() {
  const node = document.getElementById('lgcraft-config');
  return node ? JSON.parse(node.textContent) : {};
}

function readLabel(params) {
  const n = params.get('n');
  return {
    item: params.get('item') || null,
    head: (params.get('head') || '').toLowerCase() || null,
    count: n && /^\d+$/.test(n) ? Number(n) : null,
  };
}

function shortAddr(a) {
  return a ? `${a.slice(0, 6)}…${a.slice(-4)}` : '';
}

function formatDate(time, lang) {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return time;
  return d.toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en-GB', { year: 'numeric', month: 'short', day: 'numeric' });
}

function details(body, t, lang) {
  const parts = [];
  const words = STRINGS[lang];
  if (body.metal && typeof body.metal === 'object') {
    const name = own(words.metal, body.metal.type) || String(body.metal.type);
    parts.push(body.metal.fineness ? `${name} ${body.metal.fineness}‰` : name);
  }
  if (typeof body.weight_mg === 'number') parts.push(t('weight', { g: (body.weight_mg / 1000).toFixed(3) }));
  for (const stone of Array.isArray(body.stones) ? body.stones : []) {
    if (!stone || typeof stone !== 'object') continue;
    let text = own(words.stone, stone.type) || String(stone.type);
    if (typeof stone.carat_hundredths === 'number') {
      text += ` ${Math.floor(stone.carat_hundredths / 100)}.${String(stone.carat_hundredths % 100).padStart(2, '0')} ct`;
    }
    for (const key of ['colour', 'clarity']) if (stone[key]) text += ` ${stone[key]}`;
    if (stone.report_number) text += ` (${stone.lab || ''} ${stone.report_number})`;
    parts.push(text);
  }
  if (body.counterparty && body.counterparty.name) parts.push(t('to', { name: body.counterparty.name }));
  return parts.join(' · ');
}

async function fetchText(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.text();
}

// attachment files published with the site: fetched and hashed here, compared to the record
const SHOWN_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/pdf']);
async function loadAttachments(text, config) {
  const published = config.files || {};
  const out = [];
  const fetched = new Map(); // each published file once, however many records name it
  let bundle;
  try {
    bundle = JSON.parse(text); // only to find the names; verify reads the file strictly
  } catch {
    return out;
  }
  for (const rec of Array.isArray(bundle.records) ? bundle.records : []) {
    const atts = rec && rec.body && Array.isArray(rec.body.attachments) ? rec.body.attachments : [];
    for (const att of atts) {
      if (!att || typeof att.sha256 !== 'string') continue;
      // a type from the bundle never makes the browser run a file: only images and PDFs keep theirs
      const media = SHOWN_TYPES.has(att.media_type) ? att.media_type : 'application/octet-stream';
      const entry = { name: String(att.name), expected: att.sha256, media, actual: null, url: null };
      const path = Object.prototype.hasOwnProperty.call(published, att.sha256) ? published[att.sha256] : null;
      if (path) {
        if (!fetched.has(path)) {
          fetched.set(path, fetch(path, { cache: 'no-store' })
            .then((r) => (r.ok ? r.arrayBuffer() : null)).then((b) => (b ? new Uint8Array(b) : null)).catch(() => null));
        }
        const bytes = await fetched.get(path);
        if (bytes) {
          entry.actual = hex(sha256(bytes));
          entry.url = URL.createObjectURL(new Blob([bytes], { type: media }));
        }
      }
      out.push(entry);
    }
  }
  return out;
}

function lineState(report, line) {
  if (line === 'file') return report.verdict === 2 ? false : true;
  if (report.verdict === 2) return null;
  const states = GROUPS[line].map((name) => report.results[name]).filter((v) => v !== undefined);
  if (states.includes(false)) return false;
  if (states.includes(null)) return null;
  return true;
}

function renderChecks(root, report, t, lang) {
  root.replaceChildren();
  for (const line of LINES) {
    const state = lineState(report, line);
    const cls = state === true ? 'ok' : state === false ? 'bad' : 'skip';
    const mark = state === true ? '✓' : state === false ? '✗' : '–';
    let sentences;
    if (state === true) {
      if (line === 'history') {
        sentences = [report.results.label === true && report.headIndex >= 0
          ? t(report.headIndex === 0 ? 'ok.history_1' : 'ok.history', { n: report.headIndex + 1 }) : t('ok.history_nolabel')];
      } else if (line === 'chain') {
        const a = report.anchors[report.anchors.length - 1];
        const org = a.org || shortAddr(a.issuer);
        sentences = [t('ok.chain', { org, date: formatDate(new Date(a.block_time * 1000).toISOString(), lang) })];
      } else sentences = [t(`ok.${line}`)];
    } else if (state === false) {
      sentences = line === 'file' ? [t('bad.file')]
        : report.failures.filter((f) => GROUPS[line].includes(f.check)).map((f) => failureText(f, t));
      sentences = [...new Set(sentences)];
    } else if (report.verdict === 2) sentences = [t('skip.after')];
    else {
      const why = report.unchecked.find((u) => u.code === 'node');
      sentences = [why ? t('skip.node', { why: t(`node.${why.reason}`, why) }) : t('skip.offline')];
    }
    root.append(el('li', { class: `check ${cls}`, 'data-check': line, 'data-state': cls },
      el('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
      el('div', {}, el('strong', {}, t(`check.${line}`)), ...sentences.map((x) => el('p', {}, x)))));
  }
}

// a step this page has no words for is shown as the record spells it
function stepName(step, t) {
  const key = `step.${step}`;
  const text = t(key);
  return text === key ? String(step) : text;
}

function failureText(f, t) {
  const params = { ...f };
  if (f.rec) {
    params.n = f.rec.index + 1;
    params.step = stepName(f.rec.step, t);
  }
  if (f.role) params.role = t(`role.${f.role}`);
  if (f.what) params.what = f.what.split(', ').map((w) => t(`what.${w}`)).join(', ');
  for (const key of ['signer', 'issuer', 'contract']) if (f[key]) params[key] = shortAddr(f[key]);
  return t(`f.${f.code}`, params);
}

function renderTimeline(root, report, attachments, t, lang) {
  root.replaceChildren();
  const byHash = new Map(attachments.map((a) => [a.expected, a]));
  for (const row of report.records) {
    const body = row.body;
    const who = row.org ? t('signed_by', { org: row.org }) : row.signer ? t('signed_unknown', { addr: shortAddr(row.signer) }) : '';
    const roles = own(STEP_ROLES, body.biz_step);
    const role = roles ? roles[0] : null;
    const items = [];
    for (const att of Array.isArray(body.attachments) ? body.attachments : []) {
      const a = att && byHash.get(att.sha256);
      if (!a) continue;
      const state = a.actual == null ? 'missing' : a.actual === a.expected ? 'ok' : 'bad';
      const label = el('span', { class: `att-state ${state}` }, state === 'ok' ? `✓ ${t('att_ok')}` : state === 'bad' ? `✗ ${t('att_bad')}` : t('att_missing'));
      const figure = el('figure', { class: `att ${state}`, 'data-attachment': a.name, 'data-state': state });
      if (state === 'ok' && a.media.startsWith('image/')) figure.append(el('img', { src: a.url, alt: a.name }));
      figure.append(el('figcaption', {}, state === 'ok' ? el('a', { href: a.url, download: a.name }, a.name) : a.name, ' ', label));
      items.push(figure);
    }
    root.append(el('li', { class: `event ${row.ok ? 'ok' : 'bad'}`, 'data-step': body.biz_step },
      el('div', { class: 'when' }, formatDate(body.event_time, lang)),
      el('div', { class: 'what' },
        el('strong', {}, stepName(body.biz_step, t)),
        role ? el('span', { class: 'role' }, t(`role.${role}`)) : null,
        el('p', { class: 'actor' }, body.actor && body.actor.name ? String(body.actor.name) : ''),
        body.location && body.location.name ? el('p', { class: 'where' }, String(body.location.name)) : null,
        el('p', { class: 'details' }, details(body, t, lang)),
        body.note ? el('p', { class: 'note' }, String(body.note)) : null,
        el('p', { class: 'who' }, who),
        ...items)));
  }
}

function renderVerdict(root, report, t) {
  const v = report.verdict;
  let sub;
  if (v === 0) sub = t('v.0.sub', { item: report.item });
  else if (v === 1) sub = failureText(report.failures[0], t);
  else if (v === 2) sub = t('v.2.sub', { why: report.malformed });
  else sub = t('v.3.sub');
  root.className = `verdict v${v}`;
  root.setAttribute('data-verdict', String(v));
  root.replaceChildren(el('h2', {}, t(`v.${v}`)), el('p', {}, sub));
}

async function run() {
  const config = readConfig();
  const params = new URLSearchParams(location.search);
  const lang = pickLanguage(location.search, navigator.languages);
  const t = translator(lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  const other = lang === 'zh' ? 'en' : 'zh';
  const switchParams = new URLSearchParams(location.search);
  switchParams.set('lang', other);
  const app = document.getElementById('app');
  const verdict = el('section', { class: 'verdict pending', id: 'verdict', 'aria-live': 'polite' }, el('h2', {}, t('loading')));
  const checks = el('ol', { class: 'checks', id: 'checks' });
  const timeline = el('ol', { class: 'timeline', id: 'timeline' });
  const footer = el('footer', { id: 'footer' });
  const label = readLabel(params);
  app.replaceChildren(
    el('header', {}, el('h1', {}, t('title')), el('a', { class: 'lang', href: `?${switchParams}`, id: 'lang-switch' }, t('lang_other'))),
    label.item ? el('p', { class: 'item' }, `${t('item')}: `, el('code', {}, label.item)) : null,
    verdict, el('h3', {}, t('checks')), checks, el('h3', { id: 'timeline-title' }, t('timeline')), timeline, footer);

  if (!label.item) {
    const list = el('ul', { class: 'items' });
    for (const item of config.items || []) {
      list.append(el('li', {}, el('a', { href: `?item=${encodeURIComponent(item)}&lang=${lang}` }, item)));
    }
    app.replaceChildren(el('header', {}, el('h1', {}, t('title'))), el('h3', {}, t('items')), list);
    document.body.setAttribute('data-ready', '1');
    return;
  }
  let text;
  try {
    text = await fetchText(`bundles/${safeName(label.item)}.json`);
  } catch {
    // opened from a USB stick (file://) or the bundle is not on the site: let the user pick it
    text = await new Promise((resolve) => {
      const input = el('input', { type: 'file', accept: '.json,application/json', id: 'bundle-file' });
      input.addEventListener('change', () => input.files[0] && input.files[0].text().then(resolve));
      verdict.replaceChildren(el('p', {}, t('no_bundle', { item: label.item })), el('p', {}, t('pick')), input);
      document.body.setAttribute('data-ready', 'pick');
    });
    verdict.replaceChildren(el('h2', {}, t('loading')));
  }
  const attachments = await loadAttachments(text, config);
  const offline = params.get('offline') === '1' || !config.rpc_url;
  const node = offline ? null : rpcClient(config.rpc_url);
  const report = await verifyBundleText(text, { trust: config.trust, label, node, files: attachments, codeHashes: config.code_hashes || {} });
  window.lgcraftReport = report;
  renderVerdict(verdict, report, t);
  renderChecks(checks, report, t, lang);
  if (report.verdict !== 2) renderTimeline(timeline, report, attachments, t, lang);
  else document.getElementById('timeline-title').remove(); // a damaged file has no history to show
  footer.replaceChildren(
    el('p', {}, t('trust_count', { n: ((config.trust && config.trust.organisations) || []).length })),
    config.rpc_url ? el('p', {}, t('node', { url: config.rpc_url })) : null,
    el('p', { id: 'timing' }, t('time_line', {
      ms: report.timing.computeMs.toFixed(1), calls: report.timing.rpcCalls, rpc: report.timing.rpcMs.toFixed(0),
    })));
  document.body.setAttribute('data-ready', '1');
}

run().catch((exc) => {
  document.body.setAttribute('data-ready', 'error');
  const app = document.getElementById('app');
  app.append(el('pre', { class: 'error' }, String(exc && exc.stack ? exc.stack : exc)));
});
