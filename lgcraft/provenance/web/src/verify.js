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
const TOP = { format: 'lgcraft-provenance-bundle', merkle: 'lgcraft-merkle/1', canonicalization: 'RFC8785', hash: 'sha-256' };
const READ_VERSIONS = [1, 2];
const TOP_KEYS = new Set(['format', 'version', 'merkle', 'canonicalization', 'hash', 'signature', 'item_id', 'exported_at', 'anchors', 'records']);
const ANCHOR_V1 = ['root', 'leaf_count', 'chain_id', 'contract', 'issuer', 'tx_hash', 'block_number', 'block_hash', 'block_time'];
const ANCHOR_KEYS = { 1: new Set(ANCHOR_V1), 2: new Set([...ANCHOR_V1, 'contract_version']) };
const ANCHOR_REQUIRED = {
  1: ['root', 'leaf_count', 'chain_id', 'contract', 'issuer', 'block_time'],
  2: ['root', 'leaf_count', 'chain_id', 'contract', 'contract_version', 'issuer', 'tx_hash', 'block_number', 'block_hash', 'block_time'],
};
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
  // arithmetic, not bitwise: JavaScript's ^ and & cut numbers to 32 bits, Python's do not
  while (width > 1) {
    const odd = index % 2 === 1;
    if ((odd ? index - 1 : index + 1) < width) {
      if (used >= siblings.length) throw new Error(`proof too short: ${siblings.length} siblings for leaf ${index} of ${count}`);
      const other = unhex(siblings[used++]);
      node = sha256(odd ? concat(Uint8Array.of(1), other, node) : concat(Uint8Array.of(1), node, other));
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
  if (data.format === TOP.format && !READ_VERSIONS.includes(data.version)) return `unsupported bundle version ${String(data.version)}`;
  for (const [key, value] of Object.entries({ ...TOP, version: data.version })) {
    if (data[key] !== value) return `${key}: ${JSON.stringify(value)} was expected`;
  }
  const version = data.version;
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
    for (const key of ANCHOR_REQUIRED[version]) {
      if (!has(a, key)) return `${where}: '${key}' is a required property`;
    }
    const extraA = Object.keys(a).filter((k) => !ANCHOR_KEYS[version].has(k)).sort();
    if (extraA.length) return `${where}: additional property '${extraA[0]}' is not allowed`;
    const ok = {
      root: isHash(a.root), leaf_count: isInt(a.leaf_count, 1), chain_id: isInt(a.chain_id, 1),
      contract: isAddr(a.contract), issuer: isAddr(a.issuer), block_time: isInt(a.block_time, 0),
      tx_hash: a.tx_hash == null || isHash(a.tx_hash),
      block_number: a.block_number == null || isInt(a.block_number, 0),
      block_hash: a.block_hash == null || isHash(a.block_hash),
    };
    if (version >= 2) {
      Object.assign(ok, { contract_version: a.contract_version === 1 || a.contract_version === 2,
        tx_hash: isHash(a.tx_hash), block_number: isInt(a.block_number, 0), block_hash: isHash(a.block_hash) });
    }
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
// the trust list (lgcraft/provenance/trust.py; the site writes it as JSON for the page)
export const DEV_CHAIN_IDS = new Set([31337, 1337, 131277322940537]);
const ROLE_ALIASES = {
  manufacturer: 'maker', caster: 'maker', casting: 'maker', workshop: 'maker',
  grader: 'lab', laboratory: 'lab', grading_lab: 'lab', gem_lab: 'lab',
  assay: 'assay_office', assayer: 'assay_office', hallmarking: 'assay_office',
  shop: 'retailer', store: 'retailer', seller: 'retailer',
  distributor: 'wholesaler', trader: 'wholesaler',
};
// the roles a business step claims (null: any listed organisation may record it)
export const STEP_ROLES = {
  commissioning: ['maker', 'designer'], casting: ['maker'], setting: ['setter'], grading: ['lab'],
  inspecting: ['lab'], hallmarking: ['assay_office'], selling: ['retailer'],
  repairing: ['maker', 'setter', 'retailer'], shipping: null, receiving: null, transferring: null,
};
// record text is data, never a key into our own tables ("__proto__", "constructor")
export const own = (table, key) => (Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined);

export function canonicalRole(text) {
  const norm = text.trim().toLowerCase().replace(/[ -]/g, '_');
  return own(ROLE_ALIASES, norm) || norm;
}
// Python's str.casefold() for the names organisations go by (toLowerCase, plus sharp s)
const fold = (s) => s.trim().toLowerCase().replace(/ß/g, 'ss');

function claimedRoles(body) {
  const claims = [];
  const stepRoles = own(STEP_ROLES, String(body.biz_step));
  if (stepRoles) claims.push(stepRoles);
  const role = isObject(body.actor) ? body.actor.role : null;
  if (typeof role === 'string' && role.trim()) claims.push([canonicalRole(role)]);
  return claims;
}

export function trustIndex(trust) {
  const signers = new Map();
  const orgs = (trust && trust.organisations) || [];
  for (const org of orgs) for (const address of org.addresses || []) signers.set(address.toLowerCase(), org);
  return {
    listed: Boolean(trust),
    signer: (address) => signers.get(address.toLowerCase()) || null,
    anchorers: (chainId, issuer) => orgs.flatMap((org) => (org.anchors || [])
      .filter((a) => a.chain_id === chainId && a.issuer.toLowerCase() === issuer.toLowerCase())
      .map((entry) => ({ org, entry }))),
    answersTo: (org, name) => [org.name, ...(org.names || [])].some((n) => fold(n) === fold(name)),
  };
}

// ---------------------------------------------------------------------------------------
// JSON-RPC to the configured node
export class NodeError extends Error {
  constructor(reason, message, params = {}) {
    super(message);
    this.reason = reason; // connection, timeout, http, answer, rpc, not_evm, wrong_chain
    this.params = params;
  }
}

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
      throw abort.signal.aborted ? new NodeError('timeout', 'the node did not answer in time')
        : new NodeError('connection', 'no connection to the node');
    } finally {
      clearTimeout(timer);
      stats.ms += performance.now() - started;
    }
    if (!response.ok) throw new NodeError('http', `the node answered HTTP ${response.status}`, { status: response.status });
    let data;
    try {
      data = await response.json();
    } catch {
      throw new NodeError('answer', 'the node did not answer JSON-RPC');
    }
    if (data.error) {
      const err = new NodeError('rpc', `${method}: ${data.error.message || 'error'}`, { method });
      err.rpc = data.error;
      throw err;
    }
    return data.result;
  }
  return { call, stats, url };
}

const selector = (signature) => hex(keccakText(signature).subarray(0, 4));
const SELECTOR_ANCHOR_OF = selector('anchorOf(bytes32)');
const SELECTOR_ANCHORED = selector('anchored(address,bytes32)');
const ANCHORED_V2_TOPIC = '0x' + hex(keccakText('Anchored(address,bytes32,uint256,uint256)'));
const ZERO_ADDRESS = '0x' + '00'.repeat(20);
const word = (data, i) => data.slice(2 + 64 * i, 2 + 64 * (i + 1));
const pad32 = (address) => '00'.repeat(12) + address.slice(2).toLowerCase();
const num = (text) => Number(BigInt(text));

// what the contract holds for a root: {issuer, block_time, leaf_count, exists}
async function readAnchored(node, anchor, version) {
  if (version >= 2) {
    const data = '0x' + SELECTOR_ANCHORED + pad32(anchor.issuer) + anchor.root.slice(2);
    const result = await node.call('eth_call', [{ to: anchor.contract, data }, 'latest']);
    if (typeof result !== 'string' || result.length < 2 + 128) return { exists: false };
    const blockTime = num('0x' + word(result, 0));
    return { issuer: anchor.issuer, block_time: blockTime, leaf_count: num('0x' + word(result, 1)), exists: blockTime !== 0 };
  }
  const result = await node.call('eth_call', [{ to: anchor.contract, data: '0x' + SELECTOR_ANCHOR_OF + anchor.root.slice(2) }, 'latest']);
  if (typeof result !== 'string' || result.length < 2 + 192) return { exists: false };
  const issuer = checksumAddress('0x' + word(result, 0).slice(24));
  const blockTime = num('0x' + word(result, 1));
  return { issuer, block_time: blockTime, leaf_count: num('0x' + word(result, 2)), exists: issuer !== ZERO_ADDRESS && blockTime !== 0 };
}

// ---------------------------------------------------------------------------------------
// The check names are the CLI's (lgcraft.provenance.bundle.Check); the page groups them
// into the five lines a shop assistant reads.
export const GROUPS = {
  unchanged: ['record hash', 'item', 'attachment'],
  signatures: ['signature', 'signers'],
  history: ['hash chain', 'label'],
  merkle: ['merkle proof'],
  chain: ['issuer', 'contract', 'anchored', 'transaction', 'block'],
};
const CHAIN_CHECKS = ['contract', 'anchored', 'transaction', 'block'];

/**
 * Verify a bundle's text as `lgcraft provenance verify` does. Options: trust (the site's
 * trust list, null: none), label ({item, head, count} from the scanned QR), node (an
 * rpcClient, null: offline), codeHashes (keccak of each published anchor contract's
 * runtime code, by version), files (attachments published with the site, fetched and
 * hashed: [{name, expected, actual}]).
 * Returns {verdict, item, results, failures, unchecked, records, anchors, timing}.
 */
export async function verifyBundleText(text, { trust = null, label = {}, node = null, codeHashes = {}, files = null } = {}) {
  const t0 = performance.now();
  let compute = 0;
  const report = {
    verdict: VALID, item: null, results: {}, failures: [], unchecked: [], records: [], anchors: [],
    chainChecked: false, timing: {},
  };
  const results = report.results;
  const fail = (check, code, params = {}) => {
    report.failures.push({ check, code, ...params });
    results[check] = false;
  };
  const cannot = (check, code, params = {}) => {
    report.unchecked.push({ check, code, ...params });
    if (results[check] !== false) results[check] = null;
  };
  // 1. the file: strict JSON (duplicate keys, depth, size) and the bundle schema
  let bundle;
  try {
    bundle = parseStrict(text);
    const problem = shapeError(bundle);
    if (problem) throw new MalformedError(`malformed bundle at ${problem}`);
  } catch (exc) {
    if (!(exc instanceof MalformedError)) throw exc;
    report.verdict = MALFORMED;
    report.malformed = exc.message;
    report.timing = { computeMs: performance.now() - t0, rpcMs: 0, rpcCalls: 0 };
    return report;
  }
  const item = bundle.item_id;
  report.item = item;
  report.version = bundle.version;
  const index = trustIndex(trust);
  for (const name of ['record hash', 'item', 'signature', 'hash chain', 'merkle proof']) results[name] = true;

  // 2. each record: hash, signature, chain of prev hashes, Merkle path
  const anchors = new Map(bundle.anchors.map((a) => [a.root, a]));
  let prev = ZERO_HASH;
  const recovered = [];
  bundle.records.forEach((rec, i) => {
    const body = rec.body;
    const where = { index: i, step: body.biz_step, time: body.event_time };
    const row = { ...where, body, record_hash: rec.record_hash, signer: null, org: null, ok: true };
    report.records.push(row);
    const failRec = (check, code, params = {}) => {
      fail(check, code, { rec: where, ...params });
      row.ok = false;
    };
    let computed;
    try {
      computed = '0x' + sha256Hex(canonicalBytes(body));
    } catch (exc) {
      if (!(exc instanceof CanonError)) throw exc;
      failRec('record hash', 'canon', { why: exc.message });
      recovered.push(null);
      return;
    }
    if (computed !== rec.record_hash) failRec('record hash', 'hash_mismatch');
    if (body.item_id !== item) failRec('item', 'wrong_item', { other: body.item_id });
    let signer = null;
    try {
      signer = recoverSigner(body, rec.record_hash, rec.signature);
      if (signer !== body.actor.address) failRec('signature', 'sig_mismatch', { signer, actor: body.actor.address });
    } catch {
      failRec('signature', 'sig_invalid');
      signer = null;
    }
    row.signer = signer;
    recovered.push(signer);
    if (body.prev !== prev) failRec('hash chain', 'prev_broken');
    prev = rec.record_hash;
    const proof = rec.proof;
    let root;
    try {
      root = rootFromProof(leafHash(rec.salt, rec.record_hash, rec.signature), proof.leaf_index, proof.leaf_count, proof.siblings);
    } catch {
      failRec('merkle proof', 'merkle_path');
      return;
    }
    if (root !== proof.root) failRec('merkle proof', 'merkle_path');
    const anchor = anchors.get(proof.root);
    if (!anchor) failRec('merkle proof', 'merkle_noanchor');
    else if (anchor.leaf_count !== proof.leaf_count) failRec('merkle proof', 'merkle_count');
  });

  // 3. signers: each record's key is listed for the role and the name the record claims
  results.signers = true;
  if (!index.listed) fail('signers', 'no_trust');
  bundle.records.forEach((rec, i) => {
    const signer = recovered[i];
    const row = report.records[i];
    if (!index.listed || !signer) return;
    const body = rec.body;
    const where = { index: i, step: body.biz_step, time: body.event_time };
    const org = index.signer(signer);
    if (!org) {
      fail('signers', 'signer_unknown', { rec: where, signer });
      row.ok = false;
      return;
    }
    row.org = org.name;
    const roles = new Set(org.roles || []);
    const missing = claimedRoles(body).filter((claim) => !claim.some((r) => roles.has(r)));
    const actorName = String(isObject(body.actor) && body.actor.name != null ? body.actor.name : '');
    const anchor = anchors.get(rec.proof.root);
    const chainId = anchor ? anchor.chain_id : null;
    if (missing.length) fail('signers', 'signer_role', { rec: where, org: org.name, role: missing[0][0] });
    else if (!index.answersTo(org, actorName)) fail('signers', 'signer_name', { rec: where, org: org.name, name: actorName });
    else if (org.dev && !DEV_CHAIN_IDS.has(chainId)) fail('signers', 'signer_dev', { rec: where, org: org.name });
    else return;
    row.ok = false;
  });

  // 4. the label: this piece's bundle, reaching the head printed on its tag
  if (label.item || label.head) {
    results.label = true;
    if (label.item && label.item !== item) fail('label', 'label_item', { item, label: label.item });
    if (label.head) {
      const at = bundle.records.findIndex((r) => r.record_hash === label.head);
      if (at < 0) fail('label', 'label_head', { head: label.head });
      else if (label.count && at + 1 !== label.count) fail('label', 'label_count', { count: label.count, at: at + 1 });
      report.headIndex = at;
    }
  }

  // 5. attachments published beside the page (photos, certificates): as `verify --file`
  const fetched = (files || []).filter((f) => f.actual);
  if (fetched.length) {
    results.attachment = true;
    for (const f of fetched) if (f.actual !== f.expected) fail('attachment', 'file_mismatch', { name: f.name });
  }

  // 6. anchors: the issuer is listed for that chain (and contract), then the chain
  for (const name of ['issuer', ...CHAIN_CHECKS]) results[name] = true;
  const plans = bundle.anchors.map((anchor) => {
    const version = anchor.contract_version || 1;
    const entries = index.listed ? index.anchorers(anchor.chain_id, anchor.issuer) : [];
    const info = { ...anchor, version, org: entries.length ? entries[0].org.name : null };
    report.anchors.push(info);
    if (index.listed && !entries.length) fail('issuer', 'issuer_untrusted', { issuer: anchor.issuer, chain: anchor.chain_id });
    const pinned = entries.filter((e) => e.entry.contract);
    const open = entries.filter((e) => !e.entry.contract);
    const contractPinned = pinned.some((e) => e.entry.contract.toLowerCase() === anchor.contract.toLowerCase());
    if (entries.length && !contractPinned && !open.length) fail('contract', 'contract_unlisted', { contract: anchor.contract });
    return { anchor, info, version, contractPinned };
  });
  compute += performance.now() - t0;

  if (!node) {
    for (const name of CHAIN_CHECKS) if (results[name] === true) results[name] = null;
    report.unchecked.push({ check: 'chain', code: 'offline' });
  } else {
    for (const plan of plans) {
      try {
        await checkOnChain(node, plan, codeHashes, fail, report, (ms) => { compute += ms; });
      } catch (exc) {
        if (!(exc instanceof NodeError)) throw exc;
        for (const name of CHAIN_CHECKS) cannot(name, 'node', { why: exc.message, reason: exc.reason, ...exc.params });
      }
    }
    report.chainChecked = !report.unchecked.length;
  }
  report.verdict = report.failures.length ? INVALID : report.unchecked.length ? UNCHECKED : VALID;
  report.timing = { computeMs: compute, rpcMs: node ? node.stats.ms : 0, rpcCalls: node ? node.stats.calls : 0,
    totalMs: performance.now() - t0 };
  return report;
}

async function checkOnChain(node, plan, codeHashes, fail, report, addCompute) {
  const { anchor, info, version, contractPinned } = plan;
  if (report.nodeChainId === undefined) {
    const chainHex = await node.call('eth_chainId', []);
    if (typeof chainHex !== 'string' || !/^0x[0-9a-f]+$/i.test(chainHex)) throw new NodeError('not_evm', 'not an EVM node');
    report.nodeChainId = num(chainHex);
  }
  if (report.nodeChainId !== anchor.chain_id) {
    throw new NodeError('wrong_chain', `wrong chain: the node has chain id ${report.nodeChainId}, expected ${anchor.chain_id}`,
      { chain: report.nodeChainId, expected: anchor.chain_id });
  }
  if (!contractPinned) {
    const code = await node.call('eth_getCode', [anchor.contract, 'latest']);
    const t = performance.now();
    const codeHash = typeof code === 'string' && code.length > 2 ? '0x' + hex(keccak_256(unhex(code))) : null;
    const found = Object.entries(codeHashes).find(([, h]) => h === codeHash);
    addCompute(performance.now() - t);
    if (!found) {
      fail('contract', 'contract_code', { contract: anchor.contract });
      return;
    }
    if (Number(found[0]) !== version) {
      fail('contract', 'contract_version', { contract: anchor.contract });
      return;
    }
  }
  const found = await readAnchored(node, anchor, version);
  if (!found.exists) {
    fail('anchored', 'not_anchored', { root: anchor.root, issuer: anchor.issuer });
    return;
  }
  info.onChain = found;
  if (found.issuer.toLowerCase() !== anchor.issuer.toLowerCase()) fail('anchored', 'chain_issuer', { issuer: found.issuer });
  if (found.leaf_count !== anchor.leaf_count) fail('anchored', 'chain_count', {});
  if (found.block_time !== anchor.block_time) fail('anchored', 'chain_time', {});
  if (!anchor.tx_hash) {
    fail('transaction', 'no_tx', {});
    return;
  }
  const receipt = await node.call('eth_getTransactionReceipt', [anchor.tx_hash]);
  const t = performance.now();
  if (!receipt) {
    fail('transaction', 'tx_missing', {});
    return;
  }
  const problems = [];
  if (receipt.status !== '0x1') problems.push('reverted');
  if (String(receipt.to || '').toLowerCase() !== anchor.contract.toLowerCase()) problems.push('contract');
  if (String(receipt.from || '').toLowerCase() !== anchor.issuer.toLowerCase()) problems.push('sender');
  const blockNumber = num(receipt.blockNumber);
  if (blockNumber !== anchor.block_number || receipt.blockHash !== anchor.block_hash) problems.push('block');
  if (version >= 2) {
    const topicIssuer = '0x' + pad32(anchor.issuer);
    const event = (receipt.logs || []).find((log) => String(log.address).toLowerCase() === anchor.contract.toLowerCase()
      && log.topics && log.topics[0] === ANCHORED_V2_TOPIC && log.topics[1] === topicIssuer && log.topics[2] === anchor.root
      && typeof log.data === 'string' && num('0x' + word(log.data, 0)) === anchor.leaf_count);
    if (!event) problems.push('event');
  }
  addCompute(performance.now() - t);
  if (problems.length) {
    fail('transaction', 'tx_mismatch', { what: problems.join(', ') });
    return;
  }
  const block = await node.call('eth_getBlockByNumber', ['0x' + blockNumber.toString(16), false]);
  if (!block || block.hash !== receipt.blockHash) fail('block', 'reorged', { block: blockNumber });
  else if (num(block.timestamp) !== anchor.block_time) fail('block', 'block_time', { block: blockNumber });
}

export { Num };

// for tests/provenance/test_site_vectors.py (the bundle built from this file alone)
export { parseStrict as parseStrictForTests, unhex as unhexForTests };
export { canonicalText as canonicalTextForTests } from './jcs.js';
