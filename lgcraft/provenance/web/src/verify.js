// The checks of `lgcraft provenance verify`, in the browser: the same bundle, the same
// trust list and the same node give the same verdict (tests/provenance/test_site.py
// holds the two together on a corpus of genuine and forged bundles).
//
// Verdicts are the CLI's exit codes: 0 genuine and trusted, 1 invalid or untrusted,
// 2 malformed file, 3 could not check (no node, node down, offline).
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { parseStrict, MalformedError, Num, isObject } from './json.js';
import { canonicalBytes, CanonError } from './jcs.js';

export const VALID = 0;
export const INVALID = 1;
export const MALFORMED = 2;
export const UNCHECKED = 3;

const ZERO_HASH = '0x' + '00'.repeat(32);
const HASH32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-f]{130}$/;
const EVENT_TYPES = ['ObjectEvent', 'AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent'];
const TOP = { format: 'lgcraft-provenance-bundle', version: 1, merkle: 'lgcraft-merkle/1', canonicalization: 'RFC8785', hash: 'sha-256' };
const TOP_KEYS = new Set(['format', 'version', 'merkle', 'canonicalization', 'hash', 'signature', 'item_id', 'exported_at', 'anchors', 'records']);
const ANCHOR_KEYS = new Set(['root', 'leaf_count', 'chain_id', 'contract', 'issuer', 'tx_hash', 'block_number', 'block_hash', 'block_time']);
const RECORD_KEYS = new Set(['body', 'record_hash', 'salt', 'signature', 'proof']);
const PROOF_KEYS = new Set(['root', 'leaf_index', 'leaf_count', 'siblings']);
const SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141n;

// ---------------------------------------------------------------------------------------
// bytes and hashes
const enc = new TextEncoder();
export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
export function unhex(text) {
  const h = text.startsWith('0x') ? text.slice(2) : text;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const keccakText = (s) => keccak_256(enc.encode(s));
export const sha256Hex = (bytes) => hex(sha256(bytes));

export function checksumAddress(address) {
  const lower = address.slice(2).toLowerCase();
  const digest = hex(keccakText(lower));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(digest[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

// ---------------------------------------------------------------------------------------
// EIP-712 (docs/provenance-merkle.md section 2)
const DOMAIN_SEPARATOR = keccak_256(concat(
  keccakText('EIP712Domain(string name,string version)'),
  keccakText('lgcraft provenance'), keccakText('1')));
const RECORD_TYPEHASH = keccakText(
  'ProvenanceRecord(string itemId,string bizStep,string eventTime,address actor,bytes32 prev,bytes32 recordHash)');

export function signingDigest(body, recordHash) {
  const struct = keccak_256(concat(
    RECORD_TYPEHASH, keccakText(body.item_id), keccakText(body.biz_step), keccakText(body.event_time),
    new Uint8Array(12), unhex(body.actor.address), unhex(body.prev), unhex(recordHash)));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), DOMAIN_SEPARATOR, struct));
}

export function recoverSigner(body, recordHash, signature) {
  const raw = unhex(signature);
  let v = raw[64];
  if (v >= 27) v -= 27;
  if (v !== 0 && v !== 1) throw new Error(`signature has a bad recovery byte ${raw[64]}`);
  const r = BigInt('0x' + hex(raw.subarray(0, 32)));
  const s = BigInt('0x' + hex(raw.subarray(32, 64)));
  if (!(r > 0n && r < SECP256K1_N && s > 0n && s < SECP256K1_N)) throw new Error('not a valid secp256k1 signature');
  const point = new secp256k1.Signature(r, s, v).recoverPublicKey(signingDigest(body, recordHash));
  const pub = point.toBytes(false).subarray(1);
  return checksumAddress('0x' + hex(keccak_256(pub).subarray(12)));
}

// ---------------------------------------------------------------------------------------
// Merkle (docs/provenance-merkle.md sections 3-5)
export function leafHash(salt, recordHash, signature) {
  return sha256(concat(Uint8Array.of(0), unhex(salt), unhex(recordHash), unhex(signature)));
}
export function rootFromProof(leaf, index, count, siblings) {
  if (count < 1 || index < 0 || index >= count) throw new Error(`leaf index ${index} out of range for ${count} leaves`);
  let node = leaf;
  let width = count;
  let used = 0;
  while (width > 1) {
    if ((index ^ 1) < width) {
      if (used >= siblings.length) throw new Error(`proof too short: ${siblings.length} siblings for leaf ${index} of ${count}`);
      const other = unhex(siblings[used++]);
      node = sha256(index & 1 ? concat(Uint8Array.of(1), other, node) : concat(Uint8Array.of(1), node, other));
    }
    index = Math.floor(index / 2);
    width = Math.ceil(width / 2);
  }
  if (used !== siblings.length) throw new Error(`proof too long: ${siblings.length} siblings, ${used} expected`);
  return '0x' + hex(node);
}

// ---------------------------------------------------------------------------------------
// shape (bundle-v1.schema.json, as lgcraft.provenance.bundle.shape_error checks it)
const isInt = (v, min) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isHash = (v) => typeof v === 'string' && HASH32.test(v);
const isAddr = (v) => typeof v === 'string' && ADDRESS.test(v);
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function sameJson(a, b) {
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameJson(a[k], b[k]));
  }
  return a === b;
}

export function shapeError(data) {
  if (!isObject(data)) return 'the file is not a JSON object';
  for (const key of ['format', 'version', 'merkle', 'canonicalization', 'hash', 'signature', 'item_id', 'anchors', 'records']) {
    if (!has(data, key)) return `'${key}' is a required property`;
  }
  const extra = Object.keys(data).filter((k) => !TOP_KEYS.has(k)).sort();
  if (extra.length) return `additional property '${extra[0]}' is not allowed`;
  for (const [key, value] of Object.entries(TOP)) {
    if (data[key] !== value) return `${key}: ${JSON.stringify(value)} was expected`;
  }
  const sig = data.signature;
  if (!isObject(sig)) return 'signature is not an object';
  if (sig.scheme !== 'EIP-712' || sig.primary_type !== 'ProvenanceRecord'
      || !sameJson(sig.domain, { name: 'lgcraft provenance', version: '1' })) return 'signature: not lgcraft EIP-712 records';
  if (typeof data.item_id !== 'string' || !data.item_id) return 'item_id must be a non-empty string';
  if (has(data, 'exported_at') && typeof data.exported_at !== 'string') return 'exported_at is not a string';
  const anchors = data.anchors;
  if (!Array.isArray(anchors) || !anchors.length) return 'anchors must be a non-empty array';
  for (let i = 0; i < anchors.length; i++) {
    const a = anchors[i];
    const where = `anchors[${i}]`;
    if (!isObject(a)) return `${where} is not an object`;
    for (const key of ['root', 'leaf_count', 'chain_id', 'contract', 'issuer', 'block_time']) {
      if (!has(a, key)) return `${where}: '${key}' is a required property`;
    }
    const extraA = Object.keys(a).filter((k) => !ANCHOR_KEYS.has(k)).sort();
    if (extraA.length) return `${where}: additional property '${extraA[0]}' is not allowed`;
    const ok = {
      root: isHash(a.root), leaf_count: isInt(a.leaf_count, 1), chain_id: isInt(a.chain_id, 1),
      contract: isAddr(a.contract), issuer: isAddr(a.issuer), block_time: isInt(a.block_time, 0),
      tx_hash: a.tx_hash == null || isHash(a.tx_hash),
      block_number: a.block_number == null || isInt(a.block_number, 0),
      block_hash: a.block_hash == null || isHash(a.block_hash),
    };
    for (const [key, good] of Object.entries(ok)) if (!good) return `${where}.${key} is not a valid ${key}`;
  }
  const records = data.records;
  if (!Array.isArray(records) || !records.length) return 'records must be a non-empty array';
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    const where = `records[${i}]`;
    if (!isObject(rec)) return `${where} is not an object`;
    for (const key of RECORD_KEYS) if (!has(rec, key)) return `${where}: '${key}' is a required property`;
    const extraR = Object.keys(rec).filter((k) => !RECORD_KEYS.has(k)).sort();
    if (extraR.length) return `${where}: additional property '${extraR[0]}' is not allowed`;
    if (!isHash(rec.record_hash)) return `${where}.record_hash is not a 32-byte hash`;
    if (!isHash(rec.salt)) return `${where}.salt is not a 32-byte salt`;
    if (typeof rec.signature !== 'string' || !SIGNATURE.test(rec.signature)) return `${where}.signature is not a 65-byte signature`;
    const body = rec.body;
    if (!isObject(body)) return `${where}.body is not an object`;
    for (const key of ['schema', 'item_id', 'biz_step', 'event_type', 'event_time', 'actor', 'prev']) {
      if (!has(body, key)) return `${where}.body: '${key}' is a required property`;
    }
    if (body.schema !== 'lgcraft-provenance-record/1') return `${where}.body.schema: 'lgcraft-provenance-record/1' was expected`;
    for (const key of ['item_id', 'biz_step', 'event_time']) {
      if (typeof body[key] !== 'string' || (key === 'item_id' && !body[key])) return `${where}.body.${key} is not a valid string`;
    }
    if (!EVENT_TYPES.includes(body.event_type)) return `${where}.body.event_type is not an EPCIS event type`;
    const actor = body.actor;
    if (!isObject(actor)) return `${where}.body.actor is not an object`;
    if (!has(actor, 'address') || !has(actor, 'name')) return `${where}.body.actor needs address and name`;
    if (!isAddr(actor.address)) return `${where}.body.actor.address is not an address`;
    if (typeof actor.name !== 'string') return `${where}.body.actor.name is not a string`;
    if (!isHash(body.prev)) return `${where}.body.prev is not a 32-byte hash`;
    const proof = rec.proof;
    if (!isObject(proof)) return `${where}.proof is not an object`;
    for (const key of PROOF_KEYS) if (!has(proof, key)) return `${where}.proof: '${key}' is a required property`;
    const extraP = Object.keys(proof).filter((k) => !PROOF_KEYS.has(k)).sort();
    if (extraP.length) return `${where}.proof: additional property '${extraP[0]}' is not allowed`;
    if (!isHash(proof.root)) return `${where}.proof.root is not a 32-byte hash`;
    if (!isInt(proof.leaf_index, 0)) return `${where}.proof.leaf_index is not an integer >= 0`;
    if (!isInt(proof.leaf_count, 1)) return `${where}.proof.leaf_count is not an integer >= 1`;
    if (!Array.isArray(proof.siblings) || proof.siblings.length > 64) return `${where}.proof.siblings must be at most 64 hashes`;
    for (let j = 0; j < proof.siblings.length; j++) {
      if (!isHash(proof.siblings[j])) return `${where}.proof.siblings[${j}] is not a 32-byte hash`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// the trust list (the site writes it as JSON from the TOML file `verify --trust` reads)
export function trustIndex(trust) {
  const signers = new Map();
  const anchors = [];
  for (const org of (trust && trust.organisations) || []) {
    for (const address of org.addresses || []) signers.set(address.toLowerCase(), org);
    for (const a of org.anchors || []) anchors.push({ ...a, org });
  }
  return { signers, anchors, empty: signers.size === 0 && anchors.length === 0 };
}

// which role a record claims (the trust list lists organisations per role)
export const ROLE_OF_STEP = {
  commissioning: 'maker', casting: 'maker', setting: 'setter', grading: 'lab', inspecting: 'lab',
  hallmarking: 'assay', shipping: 'maker', receiving: 'retailer', selling: 'retailer',
  transferring: 'retailer', repairing: 'maker',
};

// ---------------------------------------------------------------------------------------
// JSON-RPC to the configured node
export class NodeError extends Error {}

export function rpcClient(url, { timeoutMs = 8000, fetchFn = globalThis.fetch } = {}) {
  const stats = { calls: 0, ms: 0 };
  let id = 0;
  async function call(method, params) {
    const started = performance.now();
    stats.calls++;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let response;
    try {
      response = await fetchFn(url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: abort.signal,
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      });
    } catch (exc) {
      throw new NodeError(abort.signal.aborted ? 'the node did not answer in time' : 'no connection to the node');
    } finally {
      clearTimeout(timer);
      stats.ms += performance.now() - started;
    }
    if (!response.ok) throw new NodeError(`the node answered HTTP ${response.status}`);
    let data;
    try {
      data = await response.json();
    } catch {
      throw new NodeError('the node did not answer JSON-RPC');
    }
    if (data.error) {
      const err = new NodeError(`${method}: ${data.error.message || 'error'}`);
      err.rpc = data.error;
      throw err;
    }
    return data.result;
  }
  return { call, stats, url };
}

const SELECTOR_ANCHOR_OF = hex(keccakText('anchorOf(bytes32)').subarray(0, 4));
const ANCHORED_TOPIC = '0x' + hex(keccakText('Anchored(bytes32,address,uint256,uint256)'));
const word = (data, i) => data.slice(2 + 64 * i, 2 + 64 * (i + 1));

async function readAnchor(node, anchor) {
  const result = await node.call('eth_call', [{ to: anchor.contract, data: '0x' + SELECTOR_ANCHOR_OF + anchor.root.slice(2) }, 'latest']);
  if (typeof result !== 'string' || result.length < 2 + 64 * 3) return null; // no anchor contract there
  return {
    issuer: checksumAddress('0x' + word(result, 0).slice(24)),
    block_time: Number(BigInt('0x' + word(result, 1))),
    leaf_count: Number(BigInt('0x' + word(result, 2))),
  };
}

// ---------------------------------------------------------------------------------------
function labelOf(i, body) {
  return { index: i, step: body.biz_step, time: body.event_time };
}

/**
 * Verify a bundle's text. Options: trust (the site's trust list), label ({item, head, count}
 * from the scanned QR), node (an rpcClient, or null offline), files (sha256 -> file text
 * hashes published with the site; a mismatch fails like `verify --file`).
 * Returns {verdict, item, checks, failures, records, anchors, timing}.
 */
export async function verifyBundleText(text, { trust = null, label = {}, node = null, files = null } = {}) {
  const t0 = performance.now();
  let compute = 0;
  const report = {
    verdict: VALID, item: null, checks: {}, failures: [], records: [], anchors: [],
    chainChecked: false, timing: {},
  };
  const fail = (check, code, params = {}) => {
    report.failures.push({ check, code, ...params });
    report.checks[check] = false;
  };
  const setCheck = (check, ok) => {
    if (report.checks[check] !== false) report.checks[check] = ok;
  };
  // 1. the file
  let bundle;
  try {
    bundle = parseStrict(text);
    const problem = shapeError(bundle);
    if (problem) throw new MalformedError(`malformed bundle at ${problem}`);
  } catch (exc) {
    if (!(exc instanceof MalformedError)) throw exc;
    report.verdict = MALFORMED;
    report.malformed = exc.message;
    report.checks.file = false;
    report.timing = { computeMs: performance.now() - t0, rpcMs: 0, rpcCalls: 0 };
    return report;
  }
  report.checks.file = true;
  const item = bundle.item_id;
  report.item = item;
  const index = trustIndex(trust);
  if (index.empty) fail('signatures', 'no_trust');

  // 2. each record: hash, signature and signer's listing, chain of prev hashes, Merkle path
  const anchors = new Map(bundle.anchors.map((a) => [a.root, a]));
  let prev = ZERO_HASH;
  bundle.records.forEach((rec, i) => {
    const body = rec.body;
    const where = labelOf(i, body);
    const row = { ...where, body, record_hash: rec.record_hash, signer: null, org: null, ok: true };
    report.records.push(row);
    let computed;
    try {
      computed = '0x' + sha256Hex(canonicalBytes(body));
    } catch (exc) {
      if (!(exc instanceof CanonError)) throw exc;
      fail('unchanged', 'canon', { rec: where, why: exc.message });
      row.ok = false;
      return;
    }
    if (computed !== rec.record_hash) {
      fail('unchanged', 'hash_mismatch', { rec: where });
      row.ok = false;
    }
    if (body.item_id !== item) {
      fail('unchanged', 'wrong_item', { rec: where, other: body.item_id });
      row.ok = false;
    }
    try {
      const signer = recoverSigner(body, rec.record_hash, rec.signature);
      row.signer = signer;
      if (signer !== body.actor.address) {
        fail('signatures', 'sig_mismatch', { rec: where, signer, actor: body.actor.address });
        row.ok = false;
      } else if (!index.empty) {
        const org = index.signers.get(signer.toLowerCase());
        const role = ROLE_OF_STEP[body.biz_step] || null;
        if (!org) {
          fail('signatures', 'signer_unknown', { rec: where, signer });
          row.ok = false;
        } else {
          row.org = org.name;
          if (role && !(org.roles || []).includes(role)) {
            fail('signatures', 'signer_role', { rec: where, org: org.name, role });
            row.ok = false;
          }
        }
      }
    } catch (exc) {
      fail('signatures', 'sig_invalid', { rec: where });
      row.ok = false;
    }
    if (body.prev !== prev) {
      fail('history', 'prev_broken', { rec: where });
      row.ok = false;
    }
    prev = rec.record_hash;
    const proof = rec.proof;
    let root;
    try {
      root = rootFromProof(leafHash(rec.salt, rec.record_hash, rec.signature), proof.leaf_index, proof.leaf_count, proof.siblings);
    } catch (exc) {
      fail('merkle', 'merkle_path', { rec: where });
      row.ok = false;
      return;
    }
    if (root !== proof.root) {
      fail('merkle', 'merkle_path', { rec: where });
      row.ok = false;
    }
    const anchor = anchors.get(proof.root);
    if (!anchor) {
      fail('merkle', 'merkle_noanchor', { rec: where });
      row.ok = false;
    } else if (anchor.leaf_count !== proof.leaf_count) {
      fail('merkle', 'merkle_count', { rec: where });
      row.ok = false;
    }
  });
  setCheck('unchanged', true);
  setCheck('signatures', true);
  setCheck('merkle', true);

  // 3. the label: this piece, and the history reaches the head printed on it
  const last = bundle.records.length;
  if (label.item && label.item !== item) fail('history', 'label_item', { item, label: label.item });
  if (label.head) {
    const at = bundle.records.findIndex((r) => r.record_hash === label.head);
    if (at < 0) fail('history', 'label_head', { head: label.head });
    else if (label.count && at + 1 !== label.count) fail('history', 'label_count', { count: label.count, at: at + 1 });
    report.headIndex = at;
  }
  setCheck('history', true);
  report.labelChecked = Boolean(label.head);

  // 4. attachments published beside the page (photos, certificates)
  if (files) {
    for (const f of files) {
      if (f.actual && f.actual !== f.expected) fail('unchanged', 'file_mismatch', { name: f.name });
    }
  }
  compute += performance.now() - t0;

  // 5. the chain
  if (!node) {
    report.checks.chain = null;
    report.chainNote = 'offline';
  } else {
    try {
      await checkChain(bundle, node, index, report, fail, (ms) => { compute += ms; });
      report.chainChecked = true;
      setCheck('chain', true);
    } catch (exc) {
      if (!(exc instanceof NodeError)) throw exc;
      report.checks.chain = null;
      report.chainNote = 'node';
      report.chainError = exc.message;
    }
  }
  report.anchors = bundle.anchors;
  if (report.failures.length) report.verdict = INVALID;
  else if (!report.chainChecked) report.verdict = UNCHECKED;
  report.timing = { computeMs: compute, rpcMs: node ? node.stats.ms : 0, rpcCalls: node ? node.stats.calls : 0,
    totalMs: performance.now() - t0 };
  return report;
}

async function checkChain(bundle, node, index, report, fail, addCompute) {
  const chainHex = await node.call('eth_chainId', []);
  if (typeof chainHex !== 'string' || !/^0x[0-9a-f]+$/i.test(chainHex)) throw new NodeError('not an EVM node');
  const chainId = Number(BigInt(chainHex));
  report.nodeChainId = chainId;
  for (const anchor of bundle.anchors) {
    if (anchor.chain_id !== chainId) {
      fail('chain', 'chain_wrong', { chain: chainId, expected: anchor.chain_id });
      continue;
    }
    const found = await readAnchor(node, anchor);
    const t = performance.now();
    if (!found || found.issuer === '0x' + '00'.repeat(20) || found.block_time === 0) {
      fail('chain', 'not_anchored', { root: anchor.root });
      continue;
    }
    anchor.onChain = found;
    if (found.leaf_count !== anchor.leaf_count) fail('chain', 'chain_count', { root: anchor.root });
    if (found.issuer.toLowerCase() !== anchor.issuer.toLowerCase()) {
      fail('chain', 'chain_issuer', { root: anchor.root, issuer: found.issuer });
    }
    if (found.block_time !== anchor.block_time) fail('chain', 'chain_time', { root: anchor.root });
    if (!index.empty) {
      const listed = index.anchors.find((a) => a.chain_id === chainId
        && a.contract.toLowerCase() === anchor.contract.toLowerCase()
        && a.issuer.toLowerCase() === found.issuer.toLowerCase());
      if (!listed) fail('chain', 'issuer_untrusted', { issuer: found.issuer, contract: anchor.contract });
      else anchor.org = listed.org.name;
    }
    addCompute(performance.now() - t);
    if (anchor.tx_hash) {
      const receipt = await node.call('eth_getTransactionReceipt', [anchor.tx_hash]);
      const t2 = performance.now();
      const problem = receiptProblem(receipt, anchor, found);
      if (problem) fail('chain', 'receipt', { root: anchor.root, what: problem });
      addCompute(performance.now() - t2);
    }
  }
}

function receiptProblem(receipt, anchor, found) {
  if (!receipt) return 'transaction not found on the chain';
  if (receipt.status !== '0x1') return 'transaction failed';
  if (anchor.block_number != null && Number(BigInt(receipt.blockNumber)) !== anchor.block_number) return 'block number differs';
  if (anchor.block_hash && receipt.blockHash !== anchor.block_hash) return 'block hash differs';
  const topicIssuer = '0x' + '00'.repeat(12) + found.issuer.slice(2).toLowerCase();
  const event = (receipt.logs || []).find((log) => log.address.toLowerCase() === anchor.contract.toLowerCase()
    && log.topics[0] === ANCHORED_TOPIC && log.topics[1] === anchor.root && log.topics[2] === topicIssuer);
  if (!event) return 'transaction does not anchor this root';
  return null;
}

export { Num };
