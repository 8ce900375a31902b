/* Mesh repair kernels for lgcraft.eyewear.repair: the per-face passes that numpy can
 * only do as a dozen full-array temporaries and sorts. Each runs in O(n) (one counting
 * sort of half-edges by their lower vertex, one hash table, one breadth-first search)
 * with the GIL released, so parts repair on several cores at once.
 *
 * Arrays come in through the buffer protocol (C-contiguous numpy arrays), outputs are
 * arrays the caller allocated; every function checks sizes and formats and raises
 * ValueError on a mismatch. repair.py keeps an equivalent numpy path, used when this
 * module was not built, and the tests compare the two.
 *
 *   clean_faces(faces, pos_ids, vertices, min_area, keep) -> (degenerate, duplicate)
 *   orient(faces, pos_ids, vertices, n_pos, flip, labels, partner)
 *       -> (components, inward, boundary_edges, nonmanifold_edges, inconsistent_edges)
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
    int ok = b->view.itemsize == item;
    if (kind == 'i') {
        ok = ok && (*fmt == 'q' || *fmt == 'l') && fmt[1] == '\0';
    } else if (kind == 'f') {
        ok = ok && *fmt == 'd' && fmt[1] == '\0';
    } else {
        ok = ok && (*fmt == 'B' || *fmt == '?' || *fmt == 'b') && fmt[1] == '\0';
    }
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: expected a contiguous %s array", name,
                     kind == 'i' ? "int64" : kind == 'f' ? "float64" : "uint8");
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
    if (get_buffer(o_faces, &b[0], "faces", 'i', 8, 0) < 0 ||
        get_buffer(o_pos, &b[1], "pos_ids", 'i', 8, 0) < 0 ||
        get_buffer(o_vert, &b[2], "vertices", 'f', 8, 0) < 0 ||
        get_buffer(o_keep, &b[3], "keep", 'u', 1, 1) < 0) {
        release(b, 4);
        return NULL;
    }
    Py_ssize_t m = count_of(&b[0], 3), n = count_of(&b[1], 1);
    const int64_t *faces = b[0].view.buf, *pos = b[1].view.buf;
    const double *v = b[2].view.buf;
    uint8_t *keep = b[3].view.buf;
    if (count_of(&b[2], 3) != n || count_of(&b[3], 1) != m) {
        PyErr_SetString(PyExc_ValueError, "clean_faces: array sizes disagree");
        release(b, 4);
        return NULL;
    }
    if (check_ids(faces, 3 * m, n, "faces") < 0) {
        release(b, 4);
        return NULL;
    }
    int64_t max_pos = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (pos[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "pos_ids: negative id");
            release(b, 4);
            return NULL;
        }
        if (pos[i] > max_pos) max_pos = pos[i];
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
        const double *p0 = v + 3 * c[0], *p1 = v + 3 * c[1], *p2 = v + 3 * c[2];
        double e1[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
        double e2[3] = {p2[0] - p0[0], p2[1] - p0[1], p2[2] - p0[2]};
        double x = e1[1] * e2[2] - e1[2] * e2[1];
        double y = e1[2] * e2[0] - e1[0] * e2[2];
        double z = e1[0] * e2[1] - e1[1] * e2[0];
        if (t[0] == t[1] || t[1] == t[2] || t[0] == t[2] || !(sqrt(x * x + y * y + z * z) > min_area)) {
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
    if (get_buffer(o_faces, &b[0], "faces", 'i', 8, 0) < 0 ||
        get_buffer(o_pos, &b[1], "pos_ids", 'i', 8, 0) < 0 ||
        get_buffer(o_vert, &b[2], "vertices", 'f', 8, 0) < 0 ||
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
    if (count_of(&b[2], 3) != n || count_of(&b[3], 1) != m || count_of(&b[4], 1) != m ||
        count_of(&b[5], 1) != 3 * m || n_pos < 0) {
        PyErr_SetString(PyExc_ValueError, "orient: array sizes disagree");
        release(b, 6);
        return NULL;
    }
    if (check_ids(faces, 3 * m, n, "faces") < 0 || check_ids(pos, n, n_pos, "pos_ids") < 0) {
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

static PyMethodDef methods[] = {
    {"clean_faces", clean_faces, METH_VARARGS,
     "clean_faces(faces, pos_ids, vertices, min_area, keep) -> (degenerate, duplicate)"},
    {"orient", orient, METH_VARARGS,
     "orient(faces, pos_ids, vertices, n_pos, flip, labels, partner) -> "
     "(components, inward, boundary_edges, nonmanifold_edges, inconsistent_edges)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_meshcore", "Mesh repair kernels (see repair.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__meshcore(void) { return PyModule_Create(&module); }
