// lgcraft eyewear try-on page: camera (after a click) -> MediaPipe face mesh (wasm, on this
// device) -> head pose at true scale (iris rule) -> One-Euro smoothing -> three.js renders
// the prepared frame over the video, with the face as a depth-only occluder.

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';
import * as mediapipeFaceMesh from '@mediapipe/face_mesh';

import { assetBytes, assetUrl, hasWasmSimd } from './assets.js';
import {
  LM, cameraAxes, cameraPosition, imagePoints, measureFace, noseRidgeDepth, orthonormalAxes,
  videoCamera,
} from './face.js';
import { OneEuro, OneEuroVector } from './oneeuro.js';

const CATALOG = globalThis.LGCRAFT_CATALOG || { frames: [], mediapipe: {} };
const params = new URLSearchParams(location.search);
const OPTIONS = {
  render: params.get('render') !== '0', // ?render=0: landmarks only (the benchmark's baseline)
  occluder: params.get('occluder') !== '0',
  smoothing: params.get('smooth') !== '0',
  showOccluder: params.get('debug') === 'occluder',
};
const BRIDGE_CLEARANCE_MM = 2; // the bridge rests just in front of the nose ridge
const TEMPLE_CLEARANCE = 1.1; // temples rest on the skull, a little wider than the face outline
const MAX_TEMPLE_TURN = 0.25; // radians: hinges do not open or close further than this
const OCCLUDER_HEAD_DEPTH_MM = 90; // the face outline continued back as the side of the head
const LOST_AFTER_MISSES = 8;

const $ = (id) => document.getElementById(id);
const ui = {
  stage: $('stage'), video: $('video'), canvas: $('overlay'), start: $('start'),
  startPanel: $('start-panel'), status: $('status'), frames: $('frames'), measure: $('measure'),
  mirror: $('mirror'), fps: $('fps'),
};

// Read by the page's tests and benchmark (bench/tryon_page.py); nothing is sent anywhere.
const state = {
  status: 'idle', error: null, frame: null, fps: 0, tracked: 0, sent: 0, missed: 0,
  video: null, pdMm: null, projected: null, trace: [], options: OPTIONS,
  busy: false,
  hold: false, // true: keep the picture as it is (tests compare two screenshots)
};
globalThis.lgcraftTryon = state;

function setStatus(status, message) {
  state.status = status;
  ui.status.textContent = message;
  ui.status.dataset.status = status;
}

// ---- three.js scene ---------------------------------------------------------------------

let renderer, scene, camera, head, frameHolder, occluder, occluderRing;
let frameModel = null; // { root, temples: {left:[], right:[]}, hinge, earRest, bridge, lenses }

/** A software WebGL (SwiftShader, llvmpipe: no GPU, or a blocklisted one) pays for every
 * multisampled pixel on the CPU, which the face model needs too. */
function softwareWebGL() {
  const gl = document.createElement('canvas').getContext('webgl');
  const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
  const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
  return /swiftshader|llvmpipe|software/i.test(name);
}

function initScene() {
  const antialias = params.has('aa') ? params.get('aa') !== '0' : !softwareWebGL();
  renderer = new THREE.WebGLRenderer({ canvas: ui.canvas, alpha: true, antialias });
  state.antialias = antialias;
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  renderer.setClearColor(0x000000, 0);
  scene = new THREE.Scene();
  const pmrem = new THREE.PMREMGenerator(renderer);
  scene.environment = pmrem.fromScene(new RoomEnvironment(), 0.04).texture;
  scene.add(new THREE.AmbientLight(0xffffff, 0.4));
  camera = new THREE.PerspectiveCamera(50, 4 / 3, 10, 5000);
  head = new THREE.Group();
  head.visible = false;
  scene.add(head);
  frameHolder = new THREE.Group();
  frameHolder.scale.setScalar(1000); // the GLB is in metres, the head in millimetres
  head.add(frameHolder);
  occluder = buildOccluder();
  occluder.visible = OPTIONS.occluder || OPTIONS.showOccluder;
  head.add(occluder);
  // for the tests: redraw the held picture with the occluder on or off
  state.setOccluder = (on) => {
    occluder.visible = on;
    renderer.render(scene, camera);
  };
}

function faceTriangles() {
  // FACEMESH_TESSELATION lists each triangle as three edges [a,b],[b,c],[c,a]
  const edges = mediapipeFaceMesh.FACEMESH_TESSELATION || globalThis.FACEMESH_TESSELATION;
  const tris = [];
  for (let i = 0; i + 2 < edges.length; i += 3) {
    const [a, b] = edges[i], [b2, c] = edges[i + 1], [c2, a2] = edges[i + 2];
    if (b === b2 && c === c2 && a === a2) tris.push(a, b, c);
  }
  return tris;
}

function faceOutline() {
  const edges = mediapipeFaceMesh.FACEMESH_FACE_OVAL || globalThis.FACEMESH_FACE_OVAL;
  const next = new Map(edges.map(([a, b]) => [a, b]));
  const ring = [edges[0][0]];
  while (ring.length < next.size && next.get(ring[ring.length - 1]) !== ring[0]) {
    ring.push(next.get(ring[ring.length - 1]));
  }
  return ring;
}

function buildOccluder() {
  const tris = faceTriangles();
  occluderRing = faceOutline();
  const n = 468, m = occluderRing.length;
  const index = tris.slice();
  for (let k = 0; k < m; k++) { // a skirt from the face outline back along the head
    const a = occluderRing[k], b = occluderRing[(k + 1) % m];
    const a2 = n + k, b2 = n + ((k + 1) % m);
    index.push(a, b, b2, a, b2, a2);
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array((n + m) * 3), 3));
  geometry.setIndex(index);
  const material = OPTIONS.showOccluder
    ? new THREE.MeshBasicMaterial({ color: 0x00ff88, wireframe: true })
    : new THREE.MeshBasicMaterial({ colorWrite: false, side: THREE.DoubleSide });
  const mesh = new THREE.Mesh(geometry, material);
  mesh.renderOrder = -1; // depth first, so the frame behind the face fails the depth test
  mesh.frustumCulled = false;
  return mesh;
}

function updateOccluder(local) {
  const pos = occluder.geometry.attributes.position;
  for (let i = 0; i < 468; i++) pos.setXYZ(i, local[i][0], local[i][1], local[i][2]);
  occluderRing.forEach((i, k) => {
    pos.setXYZ(468 + k, local[i][0] * 0.85, local[i][1] * 0.9, local[i][2] - OCCLUDER_HEAD_DEPTH_MM);
  });
  pos.needsUpdate = true;
}

// ---- frames -----------------------------------------------------------------------------

function anchor(root, name) {
  const node = root.getObjectByName(`anchor_${name}`);
  return node ? node.position.clone() : null;
}

async function loadFrame(entry) {
  setStatus(state.status === 'tracking' ? 'tracking' : 'loading', `Loading ${entry.name}...`);
  const bytes = await assetBytes(entry.asset, entry.script);
  const gltf = await new GLTFLoader().parseAsync(bytes.buffer, '');
  const root = gltf.scene;
  const bridge = anchor(root, 'bridge');
  if (!bridge) throw new Error(`${entry.name} has no anchor_bridge node: prepare it with lgcraft eyewear prep`);
  const temples = { left: [], right: [] };
  root.traverse((node) => {
    const match = /^temple_(left|right)/.exec(node.name);
    if (match && node.parent === root) temples[match[1]].push(node);
  });
  const lenses = ['lens_left', 'lens_right'].map((name) => root.getObjectByName(name)).filter(Boolean);
  frameModel = {
    root, temples, bridge, lenses,
    hinge: { left: anchor(root, 'hinge_left'), right: anchor(root, 'hinge_right') },
    earRest: { left: anchor(root, 'ear_rest_left'), right: anchor(root, 'ear_rest_right') },
  };
  frameHolder.clear();
  frameHolder.add(root);
  state.frame = entry.name;
  for (const li of ui.frames.querySelectorAll('li')) li.classList.toggle('selected', li.dataset.name === entry.name);
  setStatus(state.status === 'tracking' ? 'tracking' : 'ready', state.status === 'tracking'
    ? 'Tracking' : `${entry.name} ready. Press "Start camera".`);
}

/** Turn each temple about its hinge so its ear rest meets the side of the head. */
function fitTemples(headHalfWidthMm) {
  for (const side of ['left', 'right']) {
    const h = frameModel.hinge[side], e = frameModel.earRest[side];
    if (!h || !e) continue;
    const vx = e.x - h.x, vz = e.z - h.z, length = Math.hypot(vx, vz);
    const sign = side === 'left' ? 1 : -1;
    const targetX = (sign * headHalfWidthMm * TEMPLE_CLEARANCE) / 1000;
    const now = Math.atan2(vx, -vz);
    const wanted = Math.asin(Math.max(-1, Math.min(1, (targetX - h.x) / length)));
    const turn = Math.max(-MAX_TEMPLE_TURN, Math.min(MAX_TEMPLE_TURN, now - wanted));
    for (const node of frameModel.temples[side]) node.rotation.y = turn;
  }
}

function renderPicker() {
  ui.frames.replaceChildren();
  for (const entry of CATALOG.frames) {
    const li = document.createElement('li');
    li.dataset.name = entry.name;
    const button = document.createElement('button');
    button.type = 'button';
    if (entry.thumbnail) {
      const img = document.createElement('img');
      img.src = entry.thumbnail;
      img.alt = '';
      button.appendChild(img);
    }
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = entry.name;
    const marking = document.createElement('span');
    marking.className = 'marking';
    marking.textContent = entry.marking || '';
    button.append(label, marking);
    button.addEventListener('click', () => loadFrame(entry).catch(fail));
    li.appendChild(button);
    if (entry.license) {
      const a = document.createElement('a');
      a.href = entry.license;
      a.textContent = 'licence';
      a.className = 'licence';
      li.appendChild(a);
    }
    ui.frames.appendChild(li);
  }
}

// ---- tracking ---------------------------------------------------------------------------

const filters = {
  centre: new OneEuroVector(2, 1.0, 0.02),
  logScale: new OneEuro(0.5, 2.0),
  axes: new OneEuroVector(6, 1.0, 0.5),
  fit: new OneEuroVector(4, 0.5, 0),
};
function resetFilters() {
  filters.centre.reset(); filters.logScale.reset(); filters.axes.reset(); filters.fit.reset();
}
const smooth = (f, value, t) => (OPTIONS.smoothing ? f.filter(value, t) : value);

let faceMesh = null, running = false, lastVideoTime = -1, misses = 0;
const fpsWindow = [];

function toVideoPx(world) {
  const p = world.clone().project(camera);
  return [((p.x + 1) / 2) * state.video.width, ((1 - p.y) / 2) * state.video.height];
}

function placeHead(target, centrePx, mmPerPx, axes) {
  const { width, height, focalPx } = state.video;
  target.position.fromArray(cameraPosition(centrePx, mmPerPx, width, height, focalPx));
  const c = cameraAxes(axes);
  const m = new THREE.Matrix4().makeBasis(new THREE.Vector3(...c.x), new THREE.Vector3(...c.y),
    new THREE.Vector3(...c.z));
  target.quaternion.setFromRotationMatrix(m);
  target.updateMatrixWorld(true);
}

function onResults(results) {
  if (state.hold) return;
  const t = performance.now() / 1000;
  const faces = results.multiFaceLandmarks || [];
  if (!faces.length || faces[0].length < 478) {
    misses += 1;
    state.missed += 1;
    if (misses >= LOST_AFTER_MISSES) {
      head.visible = false;
      resetFilters();
      setStatus('searching', 'Looking for a face... face the camera in good light.');
      if (OPTIONS.render) renderer.render(scene, camera);
    }
    return;
  }
  misses = 0;
  const { width, height } = state.video;
  const face = measureFace(imagePoints(faces[0], width, height), CATALOG.scaleRule || undefined);
  // smoothed pose
  const centre = smooth(filters.centre, face.centre.slice(0, 2), t);
  const mmPerPx = Math.exp(smooth(filters.logScale, Math.log(face.mmPerPx), t));
  const a = smooth(filters.axes, [...face.axes.x, ...face.axes.y], t);
  const axes = orthonormalAxes(a.slice(0, 3), a.slice(3, 6));
  const bridge = frameModel ? frameModel.bridge.clone().multiplyScalar(1000) : new THREE.Vector3();
  const headHalf = 0.5 * (face.local[LM.leftFaceSide][0] - face.local[LM.rightFaceSide][0]);
  const fitRaw = [face.local[(CATALOG.scaleRule || {}).nose_bridge ?? LM.noseBridge][0], 0,
    noseRidgeDepth(face.local, bridge.y) + BRIDGE_CLEARANCE_MM, headHalf];
  const fit = smooth(filters.fit, fitRaw, t);

  state.tracked += 1;
  state.pdMm = face.pdMm;
  fpsWindow.push(t);
  while (fpsWindow.length > 20) fpsWindow.shift();
  state.fps = fpsWindow.length > 1 ? (fpsWindow.length - 1) / (fpsWindow[fpsWindow.length - 1] - fpsWindow[0]) : 0;
  const minIrisPx = (CATALOG.scaleRule || {}).min_iris_px || 6;
  if (face.irisPx < minIrisPx) {
    // the scale rule's own limit: an iris this small cannot be measured well
    if (state.status !== 'too-small') setStatus('too-small', 'Come closer: the face is too small to measure its size well.');
  } else if (state.status !== 'tracking') setStatus('tracking', 'Tracking');
  if (state.tracked % 10 === 1) {
    ui.fps.textContent = `${state.fps.toFixed(1)} fps`;
    ui.measure.textContent = `Pupillary distance about ${face.pdMm.toFixed(0)} mm (iris rule, one frame)`;
  }
  if (!OPTIONS.render) return;

  placeHead(head, centre, mmPerPx, axes);
  updateOccluder(face.local);
  if (frameModel) {
    frameHolder.position.set(fit[0] - bridge.x, fit[1] - bridge.y, fit[2] - bridge.z);
    fitTemples(fit[3]);
  }
  head.visible = true;
  head.updateMatrixWorld(true);
  renderer.render(scene, camera);

  // where things landed, in video pixels (unmirrored), for the tests and the benchmark
  const world = (local) => head.localToWorld(new THREE.Vector3(...local));
  const projected = {
    bridge: toVideoPx(frameModel ? frameHolder.localToWorld(frameModel.bridge.clone()) : world([fit[0], 0, fit[2]])),
    pupils: [toVideoPx(world(face.local[LM.rightPupil])), toVideoPx(world(face.local[LM.leftPupil]))],
    lenses: frameModel ? frameModel.lenses.map((lens) => {
      const box = new THREE.Box3().setFromObject(lens);
      return toVideoPx(box.getCenter(new THREE.Vector3()));
    }) : [],
  };
  // the same point without smoothing, to measure jitter
  const raw = new THREE.Object3D();
  placeHead(raw, face.centre, face.mmPerPx, face.axes);
  projected.rawBridge = toVideoPx(raw.localToWorld(new THREE.Vector3(fitRaw[0], 0, fitRaw[2])));
  projected.smoothBridge = toVideoPx(head.localToWorld(new THREE.Vector3(fit[0], 0, fit[2])));
  state.projected = projected;
  state.trace.push({ t, raw: projected.rawBridge, smooth: projected.smoothBridge, mmPerPx });
  if (state.trace.length > 600) state.trace.shift();
}

async function loop() {
  if (!running) return;
  const video = ui.video;
  if (!state.busy && !state.hold && video.readyState >= 2 && video.currentTime !== lastVideoTime) {
    lastVideoTime = video.currentTime;
    state.busy = true; // a frame is with the face model
    try {
      state.sent += 1;
      await faceMesh.send({ image: video });
    } catch (error) {
      fail(error);
      return;
    } finally {
      state.busy = false;
    }
  }
  requestAnimationFrame(loop);
}

async function createFaceMesh() {
  if (!hasWasmSimd()) {
    throw new Error('this browser lacks WebAssembly SIMD (needs Chrome 91+, Firefox 89+, Safari 16.4+)');
  }
  const urls = {};
  await Promise.all(Object.entries(CATALOG.mediapipe).map(async ([name, script]) => {
    urls[name] = await assetUrl(name, script);
  }));
  const FaceMesh = mediapipeFaceMesh.FaceMesh || globalThis.FaceMesh;
  const mesh = new FaceMesh({
    locateFile: (file) => {
      if (!urls[file]) throw new Error(`face-mesh asset ${file} is not in this page`);
      return urls[file];
    },
  });
  mesh.setOptions({ maxNumFaces: 1, refineLandmarks: true, minDetectionConfidence: 0.5,
    minTrackingConfidence: 0.5, selfieMode: false });
  mesh.onResults(onResults);
  await mesh.initialize();
  return mesh;
}

function resize() {
  if (!state.video) return;
  const { width, height } = ui.stage.getBoundingClientRect();
  renderer.setSize(width, height, false);
}

async function start() {
  ui.start.disabled = true;
  try {
    setStatus('loading', 'Loading the face model (on this device)...');
    if (!frameModel && CATALOG.frames.length) await loadFrame(CATALOG.frames[0]);
    faceMesh = faceMesh || await createFaceMesh();
    setStatus('camera', 'Asking for the camera...');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('this browser gives no camera access here (open the page from https:, http://127.0.0.1 or a local file)');
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    ui.video.srcObject = stream;
    await ui.video.play();
    const width = ui.video.videoWidth, height = ui.video.videoHeight;
    const { focalPx, fovYDeg } = videoCamera(width, height);
    state.video = { width, height, focalPx };
    ui.stage.style.aspectRatio = `${width} / ${height}`;
    ui.stage.classList.add('live');
    camera.fov = fovYDeg;
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
    resize();
    ui.startPanel.hidden = true;
    setStatus('searching', 'Looking for a face...');
    running = true;
    requestAnimationFrame(loop);
  } catch (error) {
    fail(error);
    ui.start.disabled = false;
  }
}

function fail(error) {
  const message = error && error.name === 'NotAllowedError'
    ? 'Camera permission was refused; allow the camera for this page and press Start again.'
    : `Error: ${error && error.message ? error.message : error}`;
  state.error = message;
  setStatus('error', message);
  console.error(error);
}

function main() {
  initScene();
  renderPicker();
  ui.start.addEventListener('click', start);
  ui.mirror.addEventListener('change', () => ui.stage.classList.toggle('mirrored', ui.mirror.checked));
  ui.stage.classList.toggle('mirrored', ui.mirror.checked);
  window.addEventListener('resize', resize);
  if (!CATALOG.frames.length) setStatus('error', 'This page has no frames.');
  else setStatus('idle', 'Pick a frame, then press "Start camera".');
}

main();
