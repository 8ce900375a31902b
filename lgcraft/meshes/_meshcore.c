/* Compiled kernels for lgcraft.meshes: the per-face passes that numpy can only do as a
 * dozen full-array temporaries and sorts. Repair (a counting sort of half-edges by their
 * lower vertex, a hash of sorted face corners, a breadth-first search), the exact
 * point-to-surface distance of the error check (a uniform grid searched in shells), the
 * simplifier's memory layout (breadth-first over the mesh), per-component sums and face
 * areas. All
 * O(n), all with the GIL released, so parts and files run on several cores at once.
 *
 * Arrays come in through the buffer protocol (C-contiguous numpy arrays), outputs are
 * arrays the caller allocated; every function checks sizes, formats and indices and
 * raises ValueError on a mismatch. Each caller keeps an equivalent numpy path, used when
 * this module was not built (see _native.py), and the tests compare the two.
 *
 *   clean_faces(faces, pos_ids, vertices, min_area, keep) -> (degenerate, duplicate)
 *   orient(faces, pos_ids, vertices, n_pos, flip, labels, partner)
 *       -> (components, inward, boundary_edges, nonmanifold_edges, inconsistent_edges)
 *   distances(vertices, faces, points, out) -> triangle tests made
 *   build_grid(vertices, faces) -> grid; grid_distances(grid, vertices, faces, points, out)
 *   cache_layout(vertices, faces, positions, indices, vertex_order) -> None
 *   component_stats(vertices, faces, labels, stats) -> None
 *   face_areas(vertices, faces, out) -> None
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    int held;
} buffer_t;

static int get_buffer(PyObject *obj, buffer_t *b, const char *name, char kind, Py_ssize_t item,
                      int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) {
        return -1;
    }
    b->held = 1;
    const char *fmt = b->view.format ? b->view.format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') {
        fmt++;
    }
    /* kind 'i': int64; 'f': float64 (item 8) or float32 (item 4); 'u': uint8 (item 1,
     * bool too) or uint32 (item 4) */
    int ok = b->view.itemsize == item && fmt[0] != '\0' && fmt[1] == '\0';
    if (kind == 'i') {
        ok = ok && (*fmt == 'q' || *fmt == 'l');
    } else if (kind == 'f') {
        ok = ok && *fmt == (item == 8 ? 'd' : 'f');
    } else if (item == 1) {
        ok = ok && (*fmt == 'B' || *fmt == '?' || *fmt == 'b');
    } else {
        ok = ok && (*fmt == 'I' || *fmt == 'L');  /* 'L' where long is 32 bits */
    }
    if (!ok) {
        const char *type = kind == 'i' ? "int64" : kind == 'f' ? (item == 8 ? "float64" : "float32")
                                                               : (item == 1 ? "uint8" : "uint32");
        PyErr_Format(PyExc_ValueError, "%s: expected a contiguous %s array", name, type);
        return -1;
    }
    return 0;
}

static void release(buffer_t *b, int n) {
    for (int i = 0; i < n; i++) {
        if (b[i].held) {
            PyBuffer_Release(&b[i].view);
            b[i].held = 0;
        }
    }
}

static Py_ssize_t count_of(buffer_t *b, Py_ssize_t per) {
    return (b->view.len / b->view.itemsize) / per;
}

static int check_ids(const int64_t *ids, Py_ssize_t n, int64_t limit, const char *name) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= limit) {
            PyErr_Format(PyExc_ValueError, "%s: index %lld outside 0..%lld", name,
                         (long long)ids[i], (long long)limit - 1);
            return -1;
        }
    }
    return 0;
}

/* The vertices (float64, n x 3) and faces (int64, m x 3, indexing the vertices) of a
 * call, into b[0] and b[1], checked: 0, or -1 with an exception set. */
static int mesh_args(PyObject *o_vert, PyObject *o_faces, buffer_t *b) {
    if (get_buffer(o_vert, &b[0], "vertices", 'f', 8, 0) < 0 ||
        get_buffer(o_faces, &b[1], "faces", 'i', 8, 0) < 0) {
        return -1;
    }
    return check_ids(b[1].view.buf, 3 * count_of(&b[1], 3), count_of(&b[0], 3), "faces");
}

/* Twice the area vector of face f (the cross product of its edges from corner 0). */
static void face_cross(const double *v, const int64_t *faces, Py_ssize_t f, double n[3]) {
    const double *p0 = v + 3 * faces[3 * f], *p1 = v + 3 * faces[3 * f + 1], *p2 = v + 3 * faces[3 * f + 2];
    double e1[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
    double e2[3] = {p2[0] - p0[0], p2[1] - p0[1], p2[2] - p0[2]};
    n[0] = e1[1] * e2[2] - e1[2] * e2[1];
    n[1] = e1[2] * e2[0] - e1[0] * e2[2];
    n[2] = e1[0] * e2[1] - e1[1] * e2[0];
}

static double norm3(const double n[3]) { return sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]); }

/* The faces, position ids and vertices of a repair call, checked (faces index the
 * vertices, one position id per vertex): 0, or -1 with an exception set. */
static int repair_args(PyObject *o_faces, PyObject *o_pos, PyObject *o_vert, buffer_t *b,
                       const char *name) {
    if (get_buffer(o_faces, &b[0], "faces", 'i', 8, 0) < 0 ||
        get_buffer(o_pos, &b[1], "pos_ids", 'i', 8, 0) < 0 ||
        get_buffer(o_vert, &b[2], "vertices", 'f', 8, 0) < 0) {
        return -1;
    }
    if (count_of(&b[2], 3) != count_of(&b[1], 1)) {
        PyErr_Format(PyExc_ValueError, "%s: one position id per vertex expected", name);
        return -1;
    }
    return check_ids(b[0].view.buf, 3 * count_of(&b[0], 3), count_of(&b[1], 1), "faces");
}

/* -- clean_faces ------------------------------------------------------------------- */

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t h = a * 0x9E3779B97F4A7C15ULL;
    h ^= (b + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2)) * 0xBF58476D1CE4E5B9ULL;
    h ^= (c + 0x94D049BB133111EBULL + (h << 6) + (h >> 2)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

static void sort3(int64_t *t) {
    int64_t s;
    if (t[0] > t[1]) { s = t[0]; t[0] = t[1]; t[1] = s; }
    if (t[1] > t[2]) { s = t[1]; t[1] = t[2]; t[2] = s; }
    if (t[0] > t[1]) { s = t[0]; t[0] = t[1]; t[1] = s; }
}

/* keep[f] = 1 for a face with three distinct positions, an area above min_area, and no
 * earlier kept face on the same three positions (in any order). */
static PyObject *clean_faces(PyObject *self, PyObject *args) {
    PyObject *o_faces, *o_pos, *o_vert, *o_keep;
    double min_area;
    buffer_t b[4] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOdO", &o_faces, &o_pos, &o_vert, &min_area, &o_keep)) {
        return NULL;
    }
    if (repair_args(o_faces, o_pos, o_vert, b, "clean_faces") < 0 ||
        get_buffer(o_keep, &b[3], "keep", 'u', 1, 1) < 0) {
        release(b, 4);
        return NULL;
    }
    Py_ssize_t m = count_of(&b[0], 3);
    const int64_t *faces = b[0].view.buf, *pos = b[1].view.buf;
    const double *v = b[2].view.buf;
    uint8_t *keep = b[3].view.buf;
    if (count_of(&b[3], 1) != m) {
        PyErr_SetString(PyExc_ValueError, "clean_faces: one keep flag per face expected");
        release(b, 4);
        return NULL;
    }
    size_t cap = 16;
    while (cap < (size_t)(2 * m)) cap <<= 1;
    int64_t *table = malloc(cap * sizeof(int64_t));
    if (!table) {
        release(b, 4);
        return PyErr_NoMemory();
    }
    Py_ssize_t degenerate = 0, duplicate = 0;
    Py_BEGIN_ALLOW_THREADS
    memset(table, 0xff, cap * sizeof(int64_t));  /* -1: empty */
    for (Py_ssize_t f = 0; f < m; f++) {
        const int64_t *c = faces + 3 * f;
        int64_t t[3] = {pos[c[0]], pos[c[1]], pos[c[2]]};
        double n[3];
        face_cross(v, faces, f, n);
        if (t[0] == t[1] || t[1] == t[2] || t[0] == t[2] || !(norm3(n) > min_area)) {
            keep[f] = 0;
            degenerate++;
            continue;
        }
        sort3(t);
        size_t slot = mix((uint64_t)t[0], (uint64_t)t[1], (uint64_t)t[2]) & (cap - 1);
        int found = 0;
        while (table[slot] >= 0) {
            const int64_t *o = faces + 3 * table[slot];
            int64_t u[3] = {pos[o[0]], pos[o[1]], pos[o[2]]};
            sort3(u);
            if (u[0] == t[0] && u[1] == t[1] && u[2] == t[2]) {
                found = 1;
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        if (found) {
            keep[f] = 0;
            duplicate++;
        } else {
            table[slot] = f;
            keep[f] = 1;
        }
    }
    Py_END_ALLOW_THREADS
    free(table);
    release(b, 4);
    return Py_BuildValue("nn", degenerate, duplicate);
}

/* -- orient ------------------------------------------------------------------------ */

typedef struct {
    int64_t hi;
    int64_t he;
} entry_t;

static int by_hi(const void *a, const void *b) {
    const entry_t *x = a, *y = b;
    if (x->hi != y->hi) return x->hi < y->hi ? -1 : 1;
    return x->he < y->he ? -1 : (x->he > y->he);
}

static void sort_bucket(entry_t *e, Py_ssize_t d) {
    if (d > 24) {
        qsort(e, (size_t)d, sizeof(entry_t), by_hi);
        return;
    }
    for (Py_ssize_t i = 1; i < d; i++) {  /* insertion sort: buckets hold ~6 edges */
        entry_t x = e[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && by_hi(&e[j], &x) > 0) {
            e[j + 1] = e[j];
            j--;
        }
        e[j + 1] = x;
    }
}

/* Coherent outward winding. faces: (m, 3) vertex ids; pos_ids: position id of each
 * vertex (topology is over positions, so UV seams do not split it); n_pos: number of
 * position ids. Writes flip[f] (1: reverse face f), labels[f] (component, numbered in
 * order of each component's lowest face), partner[h] for half-edge h = 3f + j (edge from
 * corner j to corner j+1): the other half-edge of a manifold edge, -1 on a boundary,
 * -2 on a non-manifold edge (more than two faces).
 *
 * Each component is flipped consistently by a breadth-first search from its lowest
 * face across manifold edges (the start keeps its winding, as the numpy path's
 * union-find root does), then turned over as a whole if its signed volume about its
 * centroid is negative. */
static PyObject *orient(PyObject *self, PyObject *args) {
    PyObject *o_faces, *o_pos, *o_vert, *o_flip, *o_labels, *o_partner;
    Py_ssize_t n_pos;
    buffer_t b[6] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOnOOO", &o_faces, &o_pos, &o_vert, &n_pos, &o_flip, &o_labels,
                          &o_partner)) {
        return NULL;
    }
    if (repair_args(o_faces, o_pos, o_vert, b, "orient") < 0 ||
        get_buffer(o_flip, &b[3], "flip", 'u', 1, 1) < 0 ||
        get_buffer(o_labels, &b[4], "labels", 'i', 8, 1) < 0 ||
        get_buffer(o_partner, &b[5], "partner", 'i', 8, 1) < 0) {
        release(b, 6);
        return NULL;
    }
    Py_ssize_t m = count_of(&b[0], 3), n = count_of(&b[1], 1);
    const int64_t *faces = b[0].view.buf, *pos = b[1].view.buf;
    const double *v = b[2].view.buf;
    uint8_t *flip = b[3].view.buf;
    int64_t *labels = b[4].view.buf, *partner = b[5].view.buf;
    if (count_of(&b[3], 1) != m || count_of(&b[4], 1) != m || count_of(&b[5], 1) != 3 * m ||
        n_pos < 0) {
        PyErr_SetString(PyExc_ValueError, "orient: array sizes disagree");
        release(b, 6);
        return NULL;
    }
    if (check_ids(pos, n, n_pos, "pos_ids") < 0) {
        release(b, 6);
        return NULL;
    }
    Py_ssize_t nh = 3 * m;
    int64_t *start = calloc((size_t)n_pos + 1, sizeof(int64_t));
    entry_t *edges = malloc((size_t)(nh ? nh : 1) * sizeof(entry_t));
    int64_t *queue = malloc((size_t)(m ? m : 1) * sizeof(int64_t));
    double *sums = NULL;
    if (!start || !edges || !queue) {
        free(start); free(edges); free(queue);
        release(b, 6);
        return PyErr_NoMemory();
    }
    Py_ssize_t components = 0, inward = 0, boundary = 0, nonmanifold = 0, inconsistent = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    /* half-edges bucketed by their lower position id (a counting sort) */
#define TAIL(h) pos[faces[h]]
#define HEAD(h) pos[faces[3 * ((h) / 3) + ((h) % 3 + 1) % 3]]
    for (Py_ssize_t h = 0; h < nh; h++) {
        int64_t a = TAIL(h), c = HEAD(h);
        start[(a < c ? a : c) + 1]++;
    }
    for (Py_ssize_t i = 0; i < n_pos; i++) start[i + 1] += start[i];
    for (Py_ssize_t h = 0; h < nh; h++) {
        int64_t a = TAIL(h), c = HEAD(h);
        int64_t lo = a < c ? a : c, hi = a < c ? c : a;
        entry_t *e = &edges[start[lo]++];
        e->hi = hi;
        e->he = h;
    }
    for (Py_ssize_t i = n_pos; i > 0; i--) start[i] = start[i - 1];
    start[0] = 0;
    /* within a bucket, equal upper ids are one undirected edge */
    for (Py_ssize_t i = 0; i < n_pos; i++) {
        entry_t *e = edges + start[i];
        Py_ssize_t d = start[i + 1] - start[i];
        sort_bucket(e, d);
        for (Py_ssize_t s = 0; s < d;) {
            Py_ssize_t t = s + 1;
            while (t < d && e[t].hi == e[s].hi) t++;
            if (t - s == 1) {
                partner[e[s].he] = -1;
                boundary++;
            } else if (t - s == 2) {
                int64_t h1 = e[s].he, h2 = e[s + 1].he;
                partner[h1] = h2;
                partner[h2] = h1;
                if (h1 / 3 != h2 / 3 && TAIL(h1) == TAIL(h2)) inconsistent++;
            } else {
                for (Py_ssize_t k = s; k < t; k++) partner[e[k].he] = -2;
                nonmanifold++;
            }
            s = t;
        }
    }
    /* components and consistent flips: breadth-first from each lowest unvisited face */
    for (Py_ssize_t f = 0; f < m; f++) labels[f] = -1;
    for (Py_ssize_t f0 = 0; f0 < m; f0++) {
        if (labels[f0] >= 0) continue;
        Py_ssize_t head = 0, tail = 0;
        labels[f0] = components;
        flip[f0] = 0;
        queue[tail++] = f0;
        while (head < tail) {
            int64_t f = queue[head++];
            for (int j = 0; j < 3; j++) {
                int64_t h = 3 * f + j, p = partner[h];
                if (p < 0) continue;
                int64_t g = p / 3;
                if (g == f || labels[g] >= 0) continue;
                labels[g] = components;
                flip[g] = flip[f] ^ (TAIL(h) == TAIL(p));
                queue[tail++] = g;
            }
        }
        components++;
    }
    /* outward: the signed volume of each component about its centroid */
    sums = calloc((size_t)(components ? components : 1) * 5, sizeof(double));
    if (!sums) {
        failed = 1;
    } else {
        for (Py_ssize_t f = 0; f < m; f++) {
            double *s = sums + 5 * labels[f];
            for (int j = 0; j < 3; j++) {
                const double *p = v + 3 * faces[3 * f + j];
                s[0] += p[0] / 3.0;
                s[1] += p[1] / 3.0;
                s[2] += p[2] / 3.0;
            }
            s[3] += 1.0;
        }
        for (Py_ssize_t c = 0; c < components; c++) {
            double *s = sums + 5 * c;
            s[0] /= s[3];
            s[1] /= s[3];
            s[2] /= s[3];
        }
        for (Py_ssize_t f = 0; f < m; f++) {
            double *s = sums + 5 * labels[f];
            double r[3][3];
            for (int j = 0; j < 3; j++) {
                const double *p = v + 3 * faces[3 * f + j];
                r[j][0] = p[0] - s[0];
                r[j][1] = p[1] - s[1];
                r[j][2] = p[2] - s[2];
            }
            double vol = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
                       + r[0][1] * (r[1][2] * r[2][0] - r[1][0] * r[2][2])
                       + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
            s[4] += flip[f] ? -vol : vol;
        }
        for (Py_ssize_t c = 0; c < components; c++) inward += sums[5 * c + 4] < 0;
        for (Py_ssize_t f = 0; f < m; f++) flip[f] ^= sums[5 * labels[f] + 4] < 0;
    }
#undef TAIL
#undef HEAD
    Py_END_ALLOW_THREADS
    free(start); free(edges); free(queue); free(sums);
    release(b, 6);
    if (failed) return PyErr_NoMemory();
    return Py_BuildValue("nnnnn", components, inward, boundary, nonmanifold, inconsistent);
}

/* -- distances ---------------------------------------------------------------------- */

/* Squared distance from p to triangle (a, b, c): Ericson's closest-point regions, with
 * the corners taken relative to p (well conditioned for a far-off model). */
static double tri_dist2(const double *p, const double *a0, const double *b0, const double *c0) {
    double a[3], b[3], c[3], ab[3], ac[3], q[3];
    for (int i = 0; i < 3; i++) {
        a[i] = a0[i] - p[i];
        b[i] = b0[i] - p[i];
        c[i] = c0[i] - p[i];
        ab[i] = b[i] - a[i];
        ac[i] = c[i] - a[i];
    }
#define DOT(u, v) ((u)[0] * (v)[0] + (u)[1] * (v)[1] + (u)[2] * (v)[2])
#define SET(expr) for (int i = 0; i < 3; i++) q[i] = (expr)
    double d1 = -DOT(ab, a), d2 = -DOT(ac, a);
    if (d1 <= 0 && d2 <= 0) return DOT(a, a);
    double d3 = -DOT(ab, b), d4 = -DOT(ac, b);
    if (d3 >= 0 && d4 <= d3) return DOT(b, b);
    double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) {
        double t = d1 / (d1 - d3);
        SET(a[i] + t * ab[i]);
        return DOT(q, q);
    }
    double d5 = -DOT(ab, c), d6 = -DOT(ac, c);
    if (d6 >= 0 && d5 <= d6) return DOT(c, c);
    double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) {
        double t = d2 / (d2 - d6);
        SET(a[i] + t * ac[i]);
        return DOT(q, q);
    }
    double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
        double t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        SET(b[i] + t * (c[i] - b[i]));
        return DOT(q, q);
    }
    double denom = va + vb + vc;
    if (!(fabs(denom) > 1e-300)) {  /* a needle: the nearest of its three edges */
        double best = DOT(a, a), e;
        if ((e = DOT(b, b)) < best) best = e;
        if ((e = DOT(c, c)) < best) best = e;
        const double *ends[3][2] = {{a, b}, {b, c}, {c, a}};
        for (int k = 0; k < 3; k++) {
            const double *u = ends[k][0], *w = ends[k][1];
            double d[3] = {w[0] - u[0], w[1] - u[1], w[2] - u[2]}, len = DOT(d, d);
            if (len > 0) {
                double t = -DOT(u, d) / len;
                if (t > 0 && t < 1) {
                    SET(u[i] + t * d[i]);
                    if ((e = DOT(q, q)) < best) best = e;
                }
            }
        }
        return best;
    }
    double v = vb / denom, w = vc / denom;
    SET(a[i] + ab[i] * v + ac[i] * w);
    return DOT(q, q);
#undef SET
}

#define MIN2(x, y) ((x) < (y) ? (x) : (y))
#define MAX2(x, y) ((x) > (y) ? (x) : (y))
#define MIN3(x, y, z) MIN2(MIN2(x, y), z)
#define MAX3(x, y, z) MAX2(MAX2(x, y), z)

typedef struct {
    Py_ssize_t n, m;  /* vertices and faces of the surface it was built from */
    double lo[3], cell, inv_cell;
    int64_t dims[3];
    int64_t *start;  /* CSR over cells: triangles of cell c are items[start[c]..start[c+1]) */
    int32_t *items;
} grid_t;

static int64_t clamp_index(double x, double lo, double inv_cell, int64_t dim) {
    double k = floor((x - lo) * inv_cell);
    if (!(k >= 0)) return 0;
    if (k >= (double)dim) return dim - 1;
    return (int64_t)k;
}

/* Whether triangle t may touch the cell at (i, j, k): its centre lies within the cell's
 * half-diagonal of the triangle (exact test, used for triangles whose box spans many
 * cells, so a long sliver is not filed in every cell of its box). */
static int touches(const grid_t *g, const double *a, const double *b, const double *c, int64_t i,
                   int64_t j, int64_t k) {
    double centre[3] = {g->lo[0] + (i + 0.5) * g->cell, g->lo[1] + (j + 0.5) * g->cell,
                        g->lo[2] + (k + 0.5) * g->cell};
    double r = 0.8660254037844387 * g->cell * (1 + 1e-9) + 1e-300;
    return tri_dist2(centre, a, b, c) <= r * r;
}

/* Files each triangle in the cells it may touch: pass 0 counts into start[cell], pass 1
 * (after an inclusive prefix sum) fills each cell from its end, leaving start[cell] at
 * the cell's beginning. */
static void file_triangles(grid_t *g, const double *v, const int64_t *faces, Py_ssize_t m, int pass) {
    for (Py_ssize_t t = 0; t < m; t++) {
        const double *p[3] = {v + 3 * faces[3 * t], v + 3 * faces[3 * t + 1], v + 3 * faces[3 * t + 2]};
        int64_t lo[3], hi[3], span = 1;
        for (int a = 0; a < 3; a++) {
            double mn = MIN3(p[0][a], p[1][a], p[2][a]), mx = MAX3(p[0][a], p[1][a], p[2][a]);
            lo[a] = clamp_index(mn, g->lo[a], g->inv_cell, g->dims[a]);
            hi[a] = clamp_index(mx, g->lo[a], g->inv_cell, g->dims[a]);
            span *= hi[a] - lo[a] + 1;
        }
        for (int64_t i = lo[0]; i <= hi[0]; i++)
            for (int64_t j = lo[1]; j <= hi[1]; j++)
                for (int64_t k = lo[2]; k <= hi[2]; k++) {
                    if (span > 8 && !touches(g, p[0], p[1], p[2], i, j, k)) continue;
                    int64_t cell = (i * g->dims[1] + j) * g->dims[2] + k;
                    if (pass == 0) g->start[cell]++;
                    else g->items[--g->start[cell]] = (int32_t)t;
                }
    }
}

/* The least squared distance from p to the triangles of one cell not yet tested for
 * this point (stamp), or best if none is nearer. */
static inline double visit_cell(const grid_t *g, const double *v, const int64_t *faces,
                                const double *p, int64_t cell, int32_t *stamp, int32_t point,
                                double best, long long *tests) {
    for (int64_t e = g->start[cell]; e < g->start[cell + 1]; e++) {
        int32_t t = g->items[e];
        if (stamp[t] == point) continue;
        stamp[t] = point;
        (*tests)++;
        double d = tri_dist2(p, v + 3 * faces[3 * t], v + 3 * faces[3 * t + 1], v + 3 * faces[3 * t + 2]);
        if (d < best) best = d;
    }
    return best;
}

/* The grid of a surface: cells about twice a triangle's edge (at most ~2 cells per
 * triangle over the whole box), each triangle filed in the cells it may touch. Runs
 * without the GIL; returns -1 when out of memory (g then holds nothing). */
static int grid_build(grid_t *g, const double *v, const int64_t *faces, Py_ssize_t n, Py_ssize_t m) {
    memset(g, 0, sizeof(*g));
    g->n = n;
    g->m = m;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    double area = 0;
    for (Py_ssize_t t = 0; t < m; t++) {
        const double *p0 = v + 3 * faces[3 * t], *p1 = v + 3 * faces[3 * t + 1], *p2 = v + 3 * faces[3 * t + 2];
        double n[3];
        face_cross(v, faces, t, n);
        area += 0.5 * norm3(n);
        for (int a = 0; a < 3; a++) {
            double mn = MIN3(p0[a], p1[a], p2[a]), mx = MAX3(p0[a], p1[a], p2[a]);
            if (mn < lo[a]) lo[a] = mn;
            if (mx > hi[a]) hi[a] = mx;
        }
    }
    if (m == 0) return 0;
    double extent = MAX3(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
    double cell = 3.0 * sqrt(area / (double)m);
    if (!(cell > extent * 1e-6)) cell = MAX2(extent * 1e-3, 1e-300);
    if (!isfinite(extent) || !isfinite(cell)) {  /* not a real surface: one cell, brute force */
        for (int a = 0; a < 3; a++) lo[a] = hi[a] = 0;
        cell = INFINITY;
    }
    for (;;) {
        double total = 1;
        for (int a = 0; a < 3; a++) total *= floor((hi[a] - lo[a]) / cell) + 1;
        if (total <= 2.0 * (double)m + 64) break;
        cell *= 1.25;
    }
    g->cell = cell;
    g->inv_cell = 1.0 / cell;
    for (int a = 0; a < 3; a++) {
        g->lo[a] = lo[a];
        g->dims[a] = (int64_t)floor((hi[a] - lo[a]) / cell) + 1;
    }
    int64_t cells = g->dims[0] * g->dims[1] * g->dims[2];
    g->start = calloc((size_t)cells + 1, sizeof(int64_t));
    if (!g->start) return -1;
    file_triangles(g, v, faces, m, 0);
    for (int64_t c = 1; c < cells; c++) g->start[c] += g->start[c - 1];
    g->start[cells] = g->start[cells - 1];
    g->items = malloc((size_t)(g->start[cells] ? g->start[cells] : 1) * sizeof(int32_t));
    if (!g->items) {
        free(g->start);
        g->start = NULL;
        return -1;
    }
    file_triangles(g, v, faces, m, 1);
    return 0;
}

static void grid_free(grid_t *g) {
    free(g->start);
    free(g->items);
    g->start = NULL;
    g->items = NULL;
}

/* Exact distance from each point to the surface: the cells in growing shells around the
 * point's own, until no cell outside the searched box can hold anything nearer than the
 * best found (the box's distance to the point bounds every triangle not filed inside
 * it). Runs without the GIL; a grid may serve several threads at once. Returns the
 * triangle tests made, or -1 when out of memory. */
static long long grid_query(const grid_t *gp, const double *v, const int64_t *faces,
                            const double *pts, Py_ssize_t q, double *out) {
    const grid_t g = *gp;
    if (g.m == 0) {
        for (Py_ssize_t s = 0; s < q; s++) out[s] = INFINITY;
        return 0;
    }
    int32_t *stamp = malloc((size_t)g.m * sizeof(int32_t));
    if (!stamp) return -1;
    for (Py_ssize_t t = 0; t < g.m; t++) stamp[t] = -1;
    long long tests = 0;
    for (Py_ssize_t s = 0; s < q; s++) {
        const double *p = pts + 3 * s;
        int64_t c[3];
        for (int a = 0; a < 3; a++) c[a] = clamp_index(p[a], g.lo[a], g.inv_cell, g.dims[a]);
        double best = INFINITY;
        for (int64_t r = 0;; r++) {
            int64_t blo[3], bhi[3];
            for (int a = 0; a < 3; a++) {
                blo[a] = c[a] - r < 0 ? 0 : c[a] - r;
                bhi[a] = c[a] + r >= g.dims[a] ? g.dims[a] - 1 : c[a] + r;
            }
            for (int64_t i = blo[0]; i <= bhi[0]; i++)
                for (int64_t j = blo[1]; j <= bhi[1]; j++) {
                    if (llabs(i - c[0]) == r || llabs(j - c[1]) == r) {
                        for (int64_t k = blo[2]; k <= bhi[2]; k++)
                            best = visit_cell(&g, v, faces, p, (i * g.dims[1] + j) * g.dims[2] + k,
                                              stamp, (int32_t)s, best, &tests);
                        continue;
                    }
                    /* inside the shell's i, j range only its two k ends are new */
                    int64_t row = (i * g.dims[1] + j) * g.dims[2];
                    if (c[2] - r >= 0)
                        best = visit_cell(&g, v, faces, p, row + c[2] - r, stamp, (int32_t)s, best, &tests);
                    if (r > 0 && c[2] + r < g.dims[2])
                        best = visit_cell(&g, v, faces, p, row + c[2] + r, stamp, (int32_t)s, best, &tests);
                }
            /* nearest point outside the searched box that a triangle could occupy */
            double bound = INFINITY;
            int whole = 1;
            for (int a = 0; a < 3; a++) {
                if (blo[a] > 0) {
                    bound = MIN2(bound, p[a] - (g.lo[a] + blo[a] * g.cell));
                    whole = 0;
                }
                if (bhi[a] < g.dims[a] - 1) {
                    bound = MIN2(bound, (g.lo[a] + (bhi[a] + 1) * g.cell) - p[a]);
                    whole = 0;
                }
            }
            bound -= 1e-9 * g.cell;  /* rounding at cell borders: search one more shell */
            if (whole || (bound > 0 && best <= bound * bound)) break;
        }
        out[s] = sqrt(best);
    }
    free(stamp);
    return tests;
}

/* The arrays of a surface and of query points, checked: 0, or -1 with an exception. */
static int surface_args(PyObject *o_vert, PyObject *o_faces, PyObject *o_points, PyObject *o_out,
                        buffer_t *b) {
    if (mesh_args(o_vert, o_faces, b) < 0 ||
        (o_points && get_buffer(o_points, &b[2], "points", 'f', 8, 0) < 0) ||
        (o_out && get_buffer(o_out, &b[3], "out", 'f', 8, 1) < 0)) {
        return -1;
    }
    if ((o_points && count_of(&b[3], 1) != count_of(&b[2], 3)) || count_of(&b[1], 3) >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "distances: array sizes disagree");
        return -1;
    }
    return 0;
}

/* distances(vertices, faces, points, out): a grid built for this one call. */
static PyObject *distances(PyObject *self, PyObject *args) {
    PyObject *o_vert, *o_faces, *o_points, *o_out;
    buffer_t b[4] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOO", &o_vert, &o_faces, &o_points, &o_out)) return NULL;
    if (surface_args(o_vert, o_faces, o_points, o_out, b) < 0) {
        release(b, 4);
        return NULL;
    }
    grid_t g;
    long long tests = -1;
    Py_BEGIN_ALLOW_THREADS
    if (grid_build(&g, b[0].view.buf, b[1].view.buf, count_of(&b[0], 3), count_of(&b[1], 3)) == 0) {
        tests = grid_query(&g, b[0].view.buf, b[1].view.buf, b[2].view.buf, count_of(&b[2], 3),
                           b[3].view.buf);
        grid_free(&g);
    }
    Py_END_ALLOW_THREADS
    release(b, 4);
    if (tests < 0) return PyErr_NoMemory();
    return PyLong_FromLongLong(tests);
}

static void grid_capsule_free(PyObject *capsule) {
    grid_t *g = PyCapsule_GetPointer(capsule, "lgcraft.grid");
    if (g) {
        grid_free(g);
        free(g);
    }
}

/* build_grid(vertices, faces) -> grid, for grid_distances on the same arrays. */
static PyObject *build_grid(PyObject *self, PyObject *args) {
    PyObject *o_vert, *o_faces;
    buffer_t b[4] = {{0}};
    if (!PyArg_ParseTuple(args, "OO", &o_vert, &o_faces)) return NULL;
    if (surface_args(o_vert, o_faces, NULL, NULL, b) < 0) {
        release(b, 4);
        return NULL;
    }
    grid_t *g = malloc(sizeof(grid_t));
    int failed = !g;
    Py_BEGIN_ALLOW_THREADS
    if (!failed) failed = grid_build(g, b[0].view.buf, b[1].view.buf, count_of(&b[0], 3), count_of(&b[1], 3)) < 0;
    Py_END_ALLOW_THREADS
    release(b, 4);
    if (failed) {
        free(g);
        return PyErr_NoMemory();
    }
    PyObject *capsule = PyCapsule_New(g, "lgcraft.grid", grid_capsule_free);
    if (!capsule) {
        grid_free(g);
        free(g);
    }
    return capsule;
}

/* grid_distances(grid, vertices, faces, points, out) -> triangle tests made. The
 * vertices and faces must be those the grid was built from (their sizes are checked). */
static PyObject *grid_distances(PyObject *self, PyObject *args) {
    PyObject *o_grid, *o_vert, *o_faces, *o_points, *o_out;
    buffer_t b[4] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOOO", &o_grid, &o_vert, &o_faces, &o_points, &o_out)) return NULL;
    if (!PyCapsule_IsValid(o_grid, "lgcraft.grid")) {
        PyErr_SetString(PyExc_TypeError, "grid: expected a grid from build_grid()");
        return NULL;
    }
    grid_t *g = PyCapsule_GetPointer(o_grid, "lgcraft.grid");
    if (surface_args(o_vert, o_faces, o_points, o_out, b) < 0) {
        release(b, 4);
        return NULL;
    }
    if (count_of(&b[0], 3) != g->n || count_of(&b[1], 3) != g->m) {
        PyErr_SetString(PyExc_ValueError, "grid_distances: not the surface this grid was built from");
        release(b, 4);
        return NULL;
    }
    long long tests;
    Py_BEGIN_ALLOW_THREADS
    tests = grid_query(g, b[0].view.buf, b[1].view.buf, b[2].view.buf, count_of(&b[2], 3), b[3].view.buf);
    Py_END_ALLOW_THREADS
    release(b, 4);
    if (tests < 0) return PyErr_NoMemory();
    return PyLong_FromLongLong(tests);
}

/* -- cache_layout ------------------------------------------------------------------- */

/* The model in a cache-friendly order for the simplifier: vertices in breadth-first order
 * over the mesh (from the lowest-numbered vertex not yet reached, through the faces of
 * each vertex in face order), triangles by their first vertex in that order. The order
 * follows topology and the file's numbering only, never positions: two layers of one
 * shape (a lens and its coating) get corresponding orders and collapse alike, where a
 * spatial curve ordered them differently and their decimated surfaces crossed.
 * Writes positions (float32, centred on the box centre, in the new order), indices
 * (uint32, the triangles renumbered and reordered) and vertex_order (new -> old).
 * meshoptimizer's passes walk the vertices, so neighbours close in memory save cache
 * misses: a 1M-face frame simplified 1.1-1.46 s -> 1.0-1.1 s here. */
static PyObject *cache_layout(PyObject *self, PyObject *args) {
    PyObject *o_vert, *o_faces, *o_pos, *o_idx, *o_order;
    buffer_t b[5] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOOO", &o_vert, &o_faces, &o_pos, &o_idx, &o_order)) return NULL;
    if (mesh_args(o_vert, o_faces, b) < 0 ||
        get_buffer(o_pos, &b[2], "positions", 'f', 4, 1) < 0 ||
        get_buffer(o_idx, &b[3], "indices", 'u', 4, 1) < 0 ||
        get_buffer(o_order, &b[4], "vertex_order", 'i', 8, 1) < 0) {
        release(b, 5);
        return NULL;
    }
    Py_ssize_t n = count_of(&b[0], 3), m = count_of(&b[1], 3);
    if (count_of(&b[2], 1) != 3 * n || count_of(&b[3], 1) != 3 * m ||
        count_of(&b[4], 1) != n || n >= (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError,
                        "cache_layout: expected positions float32 (n, 3), indices uint32 (m*3), "
                        "vertex_order int64 (n)");
        release(b, 5);
        return NULL;
    }
    const double *v = b[0].view.buf;
    const int64_t *faces = b[1].view.buf;
    float *pos = b[2].view.buf;
    uint32_t *idx = b[3].view.buf;
    int64_t *order = b[4].view.buf;
    int64_t *inverse = malloc((size_t)(n + 1) * sizeof(int64_t));
    int64_t *face_order = malloc((size_t)(m + 1) * sizeof(int64_t));
    int64_t *vstart = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *vfaces = malloc((size_t)(3 * m + 1) * sizeof(int64_t));
    int failed = !inverse || !face_order || !vstart || !vfaces;
    Py_BEGIN_ALLOW_THREADS
    if (!failed) {
        double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
        for (Py_ssize_t i = 0; i < n; i++)
            for (int a = 0; a < 3; a++) {
                if (v[3 * i + a] < lo[a]) lo[a] = v[3 * i + a];
                if (v[3 * i + a] > hi[a]) hi[a] = v[3 * i + a];
            }
        double centre[3];
        for (int a = 0; a < 3; a++) centre[a] = n ? 0.5 * (lo[a] + hi[a]) : 0;
        /* the faces of each vertex, in face order: counted into vstart[v], an inclusive
         * prefix sum, then filled from the end walking the faces backwards */
        for (Py_ssize_t h = 0; h < 3 * m; h++) vstart[faces[h]]++;
        for (Py_ssize_t i = 1; i < n; i++) vstart[i] += vstart[i - 1];
        if (n) vstart[n] = vstart[n - 1];
        for (Py_ssize_t h = 3 * m - 1; h >= 0; h--) vfaces[--vstart[faces[h]]] = h / 3;
        /* breadth-first: order[] is the queue, inverse[] the new number (-1: not reached) */
        for (Py_ssize_t i = 0; i < n; i++) inverse[i] = -1;
        Py_ssize_t head = 0, tail = 0;
        for (Py_ssize_t s = 0; s < n; s++) {
            if (inverse[s] >= 0) continue;
            inverse[s] = tail;
            order[tail++] = s;
            while (head < tail) {
                int64_t u = order[head++];
                for (int64_t e = vstart[u]; e < vstart[u + 1]; e++) {
                    const int64_t *corner = faces + 3 * vfaces[e];
                    for (int j = 0; j < 3; j++) {
                        if (inverse[corner[j]] < 0) {
                            inverse[corner[j]] = tail;
                            order[tail++] = corner[j];
                        }
                    }
                }
            }
        }
        for (Py_ssize_t i = 0; i < n; i++)
            for (int a = 0; a < 3; a++) pos[3 * i + a] = (float)(v[3 * order[i] + a] - centre[a]);
        /* triangles by their lowest new vertex: a counting sort on that vertex (vstart,
         * no longer needed, holds the counts) */
        memset(vstart, 0, ((size_t)n + 1) * sizeof(int64_t));
        for (Py_ssize_t f = 0; f < m; f++) {
            int64_t a = inverse[faces[3 * f]], c = inverse[faces[3 * f + 1]], d = inverse[faces[3 * f + 2]];
            face_order[f] = MIN3(a, c, d);
            vstart[face_order[f] + 1]++;
        }
        for (Py_ssize_t i = 0; i < n; i++) vstart[i + 1] += vstart[i];
        for (Py_ssize_t f = 0; f < m; f++) {
            Py_ssize_t at = vstart[face_order[f]]++;
            for (int j = 0; j < 3; j++) idx[3 * at + j] = (uint32_t)inverse[faces[3 * f + j]];
        }
    }
    Py_END_ALLOW_THREADS
    free(inverse);
    free(face_order);
    free(vstart);
    free(vfaces);
    release(b, 5);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* -- component_stats ---------------------------------------------------------------- */

/* Per connected component (labels: component of each face, stats: (components, 12)):
 * box low xyz, box high xyz, area, area-weighted centroid sum xyz, and the projected
 * XY area of the faces looking +Z and of those looking -Z. */
static PyObject *component_stats(PyObject *self, PyObject *args) {
    PyObject *o_vert, *o_faces, *o_labels, *o_stats;
    buffer_t b[4] = {{0}};
    if (!PyArg_ParseTuple(args, "OOOO", &o_vert, &o_faces, &o_labels, &o_stats)) return NULL;
    if (mesh_args(o_vert, o_faces, b) < 0 ||
        get_buffer(o_labels, &b[2], "labels", 'i', 8, 0) < 0 ||
        get_buffer(o_stats, &b[3], "stats", 'f', 8, 1) < 0) {
        release(b, 4);
        return NULL;
    }
    Py_ssize_t m = count_of(&b[1], 3), k = count_of(&b[3], 12);
    if (count_of(&b[2], 1) != m || b[3].view.len != k * 12 * 8) {
        PyErr_SetString(PyExc_ValueError, "component_stats: array sizes disagree");
        release(b, 4);
        return NULL;
    }
    const double *v = b[0].view.buf;
    const int64_t *faces = b[1].view.buf, *labels = b[2].view.buf;
    double *stats = b[3].view.buf;
    if (check_ids(labels, m, k, "labels") < 0) {
        release(b, 4);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = 0; c < k; c++) {
        double *s = stats + 12 * c;
        for (int a = 0; a < 3; a++) {
            s[a] = INFINITY;
            s[3 + a] = -INFINITY;
        }
        for (int j = 6; j < 12; j++) s[j] = 0;
    }
    for (Py_ssize_t f = 0; f < m; f++) {
        const double *p0 = v + 3 * faces[3 * f], *p1 = v + 3 * faces[3 * f + 1], *p2 = v + 3 * faces[3 * f + 2];
        double *s = stats + 12 * labels[f];
        double n[3];
        face_cross(v, faces, f, n);
        double area = 0.5 * norm3(n), z = n[2];
        for (int a = 0; a < 3; a++) {
            double mn = MIN3(p0[a], p1[a], p2[a]), mx = MAX3(p0[a], p1[a], p2[a]);
            if (mn < s[a]) s[a] = mn;
            if (mx > s[3 + a]) s[3 + a] = mx;
            s[7 + a] += (p0[a] + p1[a] + p2[a]) * (area / 3.0);
        }
        s[6] += area;
        if (z > 0) s[10] += 0.5 * z;
        else s[11] -= 0.5 * z;
    }
    Py_END_ALLOW_THREADS
    release(b, 4);
    Py_RETURN_NONE;
}

/* -- face_areas ----------------------------------------------------------------------- */

static PyObject *face_areas(PyObject *self, PyObject *args) {
    PyObject *o_vert, *o_faces, *o_out;
    buffer_t b[3] = {{0}};
    if (!PyArg_ParseTuple(args, "OOO", &o_vert, &o_faces, &o_out)) return NULL;
    if (mesh_args(o_vert, o_faces, b) < 0 || get_buffer(o_out, &b[2], "out", 'f', 8, 1) < 0) {
        release(b, 3);
        return NULL;
    }
    Py_ssize_t m = count_of(&b[1], 3);
    if (count_of(&b[2], 1) != m) {
        PyErr_SetString(PyExc_ValueError, "face_areas: array sizes disagree");
        release(b, 3);
        return NULL;
    }
    const double *v = b[0].view.buf;
    const int64_t *faces = b[1].view.buf;
    double *out = b[2].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t f = 0; f < m; f++) {
        double n[3];
        face_cross(v, faces, f, n);
        out[f] = 0.5 * norm3(n);
    }
    Py_END_ALLOW_THREADS
    release(b, 3);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"clean_faces", clean_faces, METH_VARARGS,
     "clean_faces(faces, pos_ids, vertices, min_area, keep) -> (degenerate, duplicate)"},
    {"orient", orient, METH_VARARGS,
     "orient(faces, pos_ids, vertices, n_pos, flip, labels, partner) -> "
     "(components, inward, boundary_edges, nonmanifold_edges, inconsistent_edges)"},
    {"cache_layout", cache_layout, METH_VARARGS,
     "cache_layout(vertices, faces, positions, indices, vertex_order) -> None"},
    {"component_stats", component_stats, METH_VARARGS,
     "component_stats(vertices, faces, labels, stats) -> None"},
    {"face_areas", face_areas, METH_VARARGS, "face_areas(vertices, faces, out) -> None"},
    {"distances", distances, METH_VARARGS,
     "distances(vertices, faces, points, out) -> triangle tests made"},
    {"build_grid", build_grid, METH_VARARGS, "build_grid(vertices, faces) -> grid"},
    {"grid_distances", grid_distances, METH_VARARGS,
     "grid_distances(grid, vertices, faces, points, out) -> triangle tests made"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_meshcore", "Compiled mesh kernels (see lgcraft/meshes/_native.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__meshcore(void) { return PyModule_Create(&module); }
