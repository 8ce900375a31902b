// From MediaPipe face-mesh landmarks to a head pose in millimetres, with the same
// true-scale rule as lgcraft's photo engine: the horizontal visible iris diameter is
// 11.7 mm (the figure MediaPipe Iris publishes), so millimetres per pixel at the eyes
// are 11.7 / (iris diameter in pixels) whatever the camera.

export const IRIS_DIAMETER_MM = 11.7;
// The photo engine's rule (lgcraft/tryon/constants.py SCALE_RULE), which `lgcraft eyewear
// page` writes into catalog.js; these defaults are the same numbers.
const DEFAULT_RULE = {
  iris_diameter_mm: IRIS_DIAMETER_MM, pupils: [468, 473], iris_across: [[469, 471], [474, 476]],
  nose_bridge: 168,
};
// The camera's focal length is not known in a browser: assume a 64-degree field of view
// across the image's longer side (webcams and phone front cameras are 60-78 degrees).
// Scale does not depend on it (see the iris rule); only the perspective of the temples does.
export const FOCAL_PER_LONG_SIDE = 0.8;

// landmark indices (MediaPipe face mesh with refined iris, 478 points; "left" is the wearer's)
export const LM = {
  rightPupil: 468, rightIrisEdges: [469, 471],
  leftPupil: 473, leftIrisEdges: [474, 476],
  noseBridge: 168,
  noseRidge: [168, 6, 197, 195, 5],
  rightEyeOuter: 33, leftEyeOuter: 263, rightEyeInner: 133, leftEyeInner: 362,
  rightFaceSide: 234, leftFaceSide: 454,
  forehead: 10, chin: 152,
};

const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a) => Math.hypot(a[0], a[1], a[2]);
const unit = (a) => scale(a, 1 / (norm(a) || 1));
export const vec = { sub, add, scale, dot, cross, norm, unit };

/** Landmarks (normalised) -> points in image pixels: x right, y down, z away from the camera
 * (MediaPipe's z is in the same units as x). */
export function imagePoints(landmarks, width, height) {
  return landmarks.map((p) => [p.x * width, p.y * height, p.z * width]);
}

/** Orthonormal head axes in image coordinates from a left direction and an up guess. */
export function orthonormalAxes(left, upGuess) {
  const x = unit(left);
  const y = unit(sub(upGuess, scale(x, dot(upGuess, x))));
  const z = cross(x, y); // out of the face, towards the camera
  return { x, y, z };
}

/**
 * One frame's measurement: the point between the pupils (pixels), the head axes (image
 * coordinates: x to the wearer's left, y up, z forward), millimetres per pixel at the eyes
 * from the iris, and head-local millimetre coordinates of every landmark.
 */
export function measureFace(points, rule = DEFAULT_RULE) {
  const P = points;
  const [[r0, r1], [l0, l1]] = rule.iris_across;
  const irisPx = 0.5 * (norm(sub(P[r0], P[r1])) + norm(sub(P[l0], P[l1])));
  const mmPerPx = rule.iris_diameter_mm / irisPx;
  let left = [0, 0, 0];
  for (const [r, l] of [[LM.rightEyeOuter, LM.leftEyeOuter], [LM.rightEyeInner, LM.leftEyeInner],
                        [LM.rightFaceSide, LM.leftFaceSide], [LM.rightPupil, LM.leftPupil]]) {
    left = add(left, unit(sub(P[l], P[r])));
  }
  const axes = orthonormalAxes(left, sub(P[LM.forehead], P[LM.chin]));
  const [rightPupil, leftPupil] = rule.pupils;
  const centre = scale(add(P[rightPupil], P[leftPupil]), 0.5);
  const local = (p) => {
    const d = sub(p, centre);
    return [dot(d, axes.x) * mmPerPx, dot(d, axes.y) * mmPerPx, dot(d, axes.z) * mmPerPx];
  };
  const pdMm = norm(sub(P[rightPupil], P[leftPupil])) * mmPerPx;
  return { centre, axes, mmPerPx, irisPx, pdMm, local: P.map(local) };
}

/** Depth (head-local z, mm) of the nose ridge at height y (mm), interpolated between ridge
 * landmarks; the frame's bridge rests on it. */
export function noseRidgeDepth(local, yMm) {
  const ridge = LM.noseRidge.map((i) => local[i]).sort((a, b) => b[1] - a[1]);
  if (yMm >= ridge[0][1]) return ridge[0][2];
  for (let i = 1; i < ridge.length; i++) {
    const [hi, lo] = [ridge[i - 1], ridge[i]];
    if (yMm >= lo[1]) {
      const t = (hi[1] - yMm) / ((hi[1] - lo[1]) || 1);
      return hi[2] + t * (lo[2] - hi[2]);
    }
  }
  return ridge[ridge.length - 1][2];
}

/** The camera a video of width x height is seen through: focal length in pixels and the
 * vertical field of view in degrees (for three.js). */
export function videoCamera(width, height) {
  const focalPx = FOCAL_PER_LONG_SIDE * Math.max(width, height);
  const fovYDeg = (2 * Math.atan(height / 2 / focalPx) * 180) / Math.PI;
  return { focalPx, fovYDeg };
}

/** Where the head frame's origin (between the pupils) sits in camera space (mm; three.js
 * axes: x right, y up, z towards the viewer), from its pixel position and the scale. */
export function cameraPosition(centrePx, mmPerPx, width, height, focalPx) {
  return [(centrePx[0] - width / 2) * mmPerPx, -(centrePx[1] - height / 2) * mmPerPx, -focalPx * mmPerPx];
}

/** Image axes -> camera axes (y and z flip): the columns of the head's rotation matrix. */
export function cameraAxes(axes) {
  const c = (a) => [a[0], -a[1], -a[2]];
  return { x: c(axes.x), y: c(axes.y), z: c(axes.z) };
}
