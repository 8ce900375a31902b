// Every binary the page needs (MediaPipe's wasm and model, the frames' GLBs) arrives as a
// classic <script> that hands its base64 bytes to __lgcraftAsset. Scripts load from a
// file:// folder as well as from any static host, where fetch() and XHR of local files
// are refused; the bytes then become blob: URLs that stay inside this page.

const received = new Map();
const waiting = new Map();

globalThis.__lgcraftAsset = (name, base64) => {
  received.set(name, base64);
  const resolve = waiting.get(name);
  if (resolve) resolve(base64);
};

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

async function decodeBase64(base64) {
  try {
    // the browser's own decoder, fast for megabytes; data: URLs never leave the page
    const response = await fetch(`data:application/octet-stream;base64,${base64}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }
}

/** The bytes of asset `name`, loading its wrapper script `src` once. */
export async function assetBytes(name, src) {
  if (!received.has(name)) {
    const arrived = new Promise((resolve) => waiting.set(name, resolve));
    await loadScript(src);
    await arrived;
  }
  const base64 = received.get(name);
  received.set(name, base64); // kept: a frame picked again decodes without reloading
  return decodeBase64(base64);
}

const MIME = { js: 'text/javascript', wasm: 'application/wasm' };

/** A blob: URL for asset `name` (MIME type from its extension). */
export async function assetUrl(name, src) {
  const bytes = await assetBytes(name, src);
  const ext = name.split('.').pop();
  return URL.createObjectURL(new Blob([bytes], { type: MIME[ext] || 'application/octet-stream' }));
}

/** WebAssembly SIMD, which the bundled face-mesh build needs (the same probe MediaPipe uses). */
export function hasWasmSimd() {
  return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3,
    2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
}
