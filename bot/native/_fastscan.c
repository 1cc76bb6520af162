/*
 * _fastscan: aggregate standard nginx error-log lines by message head, in C.
 *
 * Python classifies once per distinct head (bot/diagnosis/fastgroup.py); this module does
 * the per-line work: split lines (cut at 16384 bytes, like reading.iter_lines_binary),
 * parse the nginx prefix exactly as errorlog._parse_standard does, cut the message at
 * ", client: " and tally, per head: count, first/last time, levels, pids and the
 * client/server/upstream/host context values (errorlog.parse_context rules), plus the
 * first raw lines as samples. Every line carries a sequence number so that Python can
 * merge heads and the lines it parses itself in the original line order.
 *
 * Lines this module does not aggregate go back to Python untouched ("fallback"): anything
 * not in standard form (except a plain docker-compose "name | " wrapper, accepted only in
 * the strict form whose parse provably equals the regex path), lines with a byte >= 0x80
 * (Python decodes those with replacement characters) and lines over 8192 bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The constants shared with the Python line path, generated from bot/native/layout.py. */
#include "_fastscan_layout.h"

#define MAX_LINE_BYTES NT_MAX_LINE_BYTES
#define MAX_LINE_CHARS NT_MAX_LINE_CHARS
#define NCTX NT_NCTX
#define NKINDS (NCTX + 1) /* 0 pid, then the context kinds: client, server, upstream, host */
#define KIND_HEAD 7
#define NLEVELS NT_NLEVELS
#define TIME_LEN 19

static const char *LEVEL_NAMES[NLEVELS] = NT_LEVEL_NAMES;
/* The parser below is written for nginx's 8 levels and 4 context kinds: fail the build if the
 * Python side ever says otherwise, rather than scan differently from it. */
typedef char nt_check_levels[(NLEVELS == 8) ? 1 : -1];
typedef char nt_check_ctx[(NCTX == 4) ? 1 : -1];

typedef struct {
    uint64_t hash;
    int64_t count;
    int64_t first_seq;
    size_t off;
    uint32_t len;
    uint32_t head; /* owning head index (values) or own index (heads) */
    uint8_t kind;
} Entry;

typedef struct {
    uint32_t entry;
    int64_t count;
    int64_t first_seq;
    char tfirst[TIME_LEN];
    char tlast[TIME_LEN];
    int64_t lvl_count[NLEVELS];
    int64_t lvl_seq[NLEVELS];
    uint32_t distinct[NKINDS];
    int64_t other[NKINDS];
    uint32_t nsamples;
    uint32_t sample0; /* index of its first sample in the samples array (samples are chained) */
    uint32_t last[NKINDS]; /* per kind: the entry of the last value seen, UINT32_MAX when none */
} Head;

typedef struct {
    int64_t seq;
    size_t off;
    uint32_t len;
    uint32_t next; /* next sample of the same head, UINT32_MAX when none */
} Sample;

typedef struct {
    PyObject_HEAD
    /* limits */
    Py_ssize_t max_heads, max_distinct, max_samples, max_entries, max_arena, max_fallback;
    /* input buffer */
    char *buf;
    size_t len, pos, cap;
    int eof;
    int skipping;
    int64_t seq;
    /* aggregation state */
    Entry *entries;
    size_t nentries, entries_cap;
    int32_t *table;
    size_t table_cap; /* power of two */
    char *arena;
    size_t arena_len, arena_cap;
    Head *heads;
    size_t nheads, heads_cap;
    Sample *samples;
    size_t nsamples, samples_cap;
    uint32_t *last_sample; /* per head: index of its last sample */
    size_t last_cap;
    int64_t blank;
    int64_t aggregated;
} Scanner;

/* ---- helpers ------------------------------------------------------------------------ */

static inline int py_space(unsigned char c)
{
    /* str.isspace() for ASCII */
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static inline uint64_t rd64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Two independent lanes of 8 bytes (the multiplies overlap), the last 1-16 bytes read as two
 * overlapping words: no byte loop and no variable-length memcpy, which cost more than the
 * hashing itself on the short values (pids, addresses). Only the table's probe order depends
 * on the hash (entries are compared byte for byte and exported in insertion order). */
static uint64_t hash_bytes(const char *p, size_t n, uint64_t seed)
{
    uint64_t a = seed ^ (n * 0x9e3779b97f4a7c15ULL), b = seed + 0x632be59bd9b4e019ULL;
    while (n > 16) {
        a = (a ^ rd64(p)) * 0x100000001b3ULL;
        b = (b ^ rd64(p + 8)) * 0xff51afd7ed558ccdULL;
        a ^= a >> 29;
        b ^= b >> 31;
        p += 16;
        n -= 16;
    }
    uint64_t x, y;
    if (n >= 8) {
        x = rd64(p);
        y = rd64(p + n - 8);
    } else if (n >= 4) {
        x = rd32(p);
        y = rd32(p + n - 4);
    } else {
        x = n > 0 ? (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n >> 1] << 8 | (unsigned char)p[n - 1] : 0;
        y = 0;
    }
    a = (a ^ x) * 0x100000001b3ULL;
    b = (b ^ y) * 0xc4ceb9fe1a85ec53ULL;
    return mix(a ^ (b >> 1) ^ b << 7);
}

/* memcmp(a, b, n) == 0 for the short keys here, without a library call: words, the last
 * one overlapping (every load stays within [0, n)). */
static inline int eq_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8)
            if (rd64(a + i) != rd64(b + i))
                return 0;
        return rd64(a + n - 8) == rd64(b + n - 8);
    }
    if (n >= 4)
        return rd32(a) == rd32(b) && rd32(a + n - 4) == rd32(b + n - 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Any byte >= 0x80 in p[0:n]: words OR-ed together 32 bytes at a time (one branch per 32
 * bytes: nearly every line is ASCII, so there is nothing to gain from stopping early), the
 * last bytes as one word overlapping the previous ones. */
static int has_high_byte(const char *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        acc |= rd64(p + i) | rd64(p + i + 8) | rd64(p + i + 16) | rd64(p + i + 24);
    for (; i + 8 <= n; i += 8)
        acc |= rd64(p + i);
    if (i < n) {
        if (n >= 8) {
            acc |= rd64(p + n - 8);
        } else {
            for (; i < n; i++)
                acc |= (unsigned char)p[i];
        }
    }
    return (acc & 0x8080808080808080ULL) != 0;
}

/* Python str.find(sub, start, end) for a 1-2 byte needle, within [start, end). */
static Py_ssize_t find2(const char *s, Py_ssize_t n, const char *sub, Py_ssize_t sublen, Py_ssize_t start, Py_ssize_t end)
{
    if (end > n)
        end = n;
    for (Py_ssize_t i = start; i + sublen <= end; i++) {
        if (s[i] == sub[0] && (sublen == 1 || s[i + 1] == sub[1]))
            return i;
    }
    return -1;
}

static int all_digits(const char *p, Py_ssize_t n)
{
    if (n <= 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)p[i]))
            return 0;
    return 1;
}

/* ---- storage ------------------------------------------------------------------------ */

static int grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = PyMem_Realloc(*ptr, ncap * elem);
    if (np == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *ptr = np;
    *cap = ncap;
    return 0;
}

static Py_ssize_t arena_put(Scanner *s, const char *p, size_t n)
{
    if (grow((void **)&s->arena, &s->arena_cap, s->arena_len + n + 1, 1) < 0)
        return -1;
    size_t off = s->arena_len;
    memcpy(s->arena + off, p, n);
    s->arena_len += n;
    return (Py_ssize_t)off;
}

static int table_rehash(Scanner *s, size_t ncap)
{
    int32_t *t = PyMem_Malloc(ncap * sizeof(int32_t));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(t, 0xff, ncap * sizeof(int32_t));
    for (size_t i = 0; i < s->nentries; i++) {
        size_t j = (size_t)s->entries[i].hash & (ncap - 1);
        while (t[j] >= 0)
            j = (j + 1) & (ncap - 1);
        t[j] = (int32_t)i;
    }
    PyMem_Free(s->table);
    s->table = t;
    s->table_cap = ncap;
    return 0;
}

/* Find or insert (kind, head, bytes). Returns the entry index, or -1 on error.
 * *created tells whether it is new. */
static Py_ssize_t lookup(Scanner *s, uint8_t kind, uint32_t head, const char *p, size_t n, int64_t seq, int *created)
{
    uint64_t h = hash_bytes(p, n, ((uint64_t)head << 3 | kind) * 0x9e3779b97f4a7c15ULL + 1);
    size_t mask = s->table_cap - 1;
    size_t j = (size_t)h & mask;
    for (;;) {
        int32_t idx = s->table[j];
        if (idx < 0)
            break;
        Entry *e = &s->entries[idx];
        if (e->hash == h && e->len == n && e->kind == kind && e->head == head && eq_bytes(s->arena + e->off, p, n)) {
            *created = 0;
            return idx;
        }
        j = (j + 1) & mask;
    }
    if (grow((void **)&s->entries, &s->entries_cap, s->nentries + 1, sizeof(Entry)) < 0)
        return -1;
    Py_ssize_t off = arena_put(s, p, n);
    if (off < 0)
        return -1;
    size_t idx = s->nentries++;
    Entry *e = &s->entries[idx];
    e->hash = h;
    e->count = 0;
    e->first_seq = seq;
    e->off = (size_t)off;
    e->len = (uint32_t)n;
    e->head = head;
    e->kind = kind;
    s->table[j] = (int32_t)idx;
    *created = 1;
    if (s->nentries * 2 > s->table_cap) {
        if (table_rehash(s, s->table_cap * 2) < 0)
            return -1;
    }
    return (Py_ssize_t)idx;
}

static void state_clear(Scanner *s)
{
    s->nentries = 0;
    s->arena_len = 0;
    s->nheads = 0;
    s->nsamples = 0;
    s->blank = 0;
    s->aggregated = 0;
    if (s->table != NULL)
        memset(s->table, 0xff, s->table_cap * sizeof(int32_t));
}

/* ---- line parsing ------------------------------------------------------------------- */

typedef struct {
    const char *time; /* TIME_LEN bytes */
    int level;
    const char *pid;
    Py_ssize_t pid_len;
    const char *msg;
    Py_ssize_t msg_len;
} Parsed;

static Py_ssize_t LEVEL_LENS[NLEVELS]; /* strlen of LEVEL_NAMES, set at module init */

static int level_index(const char *p, Py_ssize_t n)
{
    for (int i = 0; i < NLEVELS; i++) {
        if (LEVEL_LENS[i] == n && LEVEL_NAMES[i][0] == p[0] && eq_bytes(LEVEL_NAMES[i], p, (size_t)n))
            return i;
    }
    return -1;
}

/* errorlog._parse_standard on raw[0:n]; strict adds the conditions under which the
 * regex path (_PREFIX, used for wrapped lines) gives the same result. */
static int parse_standard(const char *raw, Py_ssize_t n, int strict, Parsed *out)
{
    if (!(n > 30 && raw[4] == '/' && raw[19] == ' ' && raw[20] == '['))
        return 0;
    if (strict) {
        static const char shape[] = "dddd/dd/dd dd:dd:dd";
        for (int i = 0; i < TIME_LEN; i++) {
            if (shape[i] == 'd' ? !is_digit((unsigned char)raw[i]) : raw[i] != shape[i])
                return 0;
        }
    }
    Py_ssize_t end = find2(raw, n, "] ", 2, 21, 30);
    if (end < 0)
        return 0;
    int level = level_index(raw + 21, end - 21);
    if (level < 0)
        return 0;
    Py_ssize_t start = end + 2;
    Py_ssize_t hash_at = find2(raw, n, "#", 1, start, start + 12);
    Py_ssize_t colon = hash_at > 0 ? find2(raw, n, ": ", 2, hash_at, hash_at + 22) : -1;
    if (colon < 0)
        return 0;
    if (!all_digits(raw + start, hash_at - start) || !all_digits(raw + hash_at + 1, colon - hash_at - 1))
        return 0;
    Py_ssize_t pos = colon + 2;
    if (strict && (pos >= n || py_space((unsigned char)raw[pos])))
        return 0;
    if (pos < n && raw[pos] == '*') {
        if (strict) {
            Py_ssize_t j = pos + 1;
            if (j < n && py_space((unsigned char)raw[j]))
                return 0;
            while (j < n && is_digit((unsigned char)raw[j]))
                j++;
            if (j > pos + 1 && j < n && raw[j] != ' ' && py_space((unsigned char)raw[j]))
                return 0;
        }
        const char *sp = memchr(raw + pos, ' ', n - pos);
        if (sp != NULL) {
            Py_ssize_t space = sp - raw;
            if (all_digits(raw + pos + 1, space - pos - 1))
                pos = space + 1;
        }
    }
    Py_ssize_t a = pos, b = n;
    while (a < b && py_space((unsigned char)raw[a]))
        a++;
    while (b > a && py_space((unsigned char)raw[b - 1]))
        b--;
    out->time = raw;
    out->level = level;
    out->pid = raw + start;
    out->pid_len = hash_at - start;
    while (out->pid_len > 1 && out->pid[0] == '0') { /* str(int(pid)) */
        out->pid++;
        out->pid_len--;
    }
    out->msg = raw + a;
    out->msg_len = b - a;
    return 1;
}

/* A docker compose prefix "name | " in the one form the wrapper regex strips whole. */
static Py_ssize_t compose_prefix(const char *raw, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    unsigned char c = n > 0 ? (unsigned char)raw[0] : 0;
    if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
        return -1;
    i = 1;
    while (i < n && i < 63) {
        c = (unsigned char)raw[i];
        if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-')
            i++;
        else
            break;
    }
    while (i < n && raw[i] == ' ')
        i++;
    if (i >= n || raw[i] != '|')
        return -1;
    i++;
    if (i < n && raw[i] == ' ')
        i++;
    if (i >= n || !is_digit((unsigned char)raw[i]))
        return -1;
    return i;
}

/* errorlog._context_value */
static void context_value(const char *m, Py_ssize_t n, Py_ssize_t start, const char **vp, Py_ssize_t *vn)
{
    if (start < n && m[start] == '"') {
        Py_ssize_t end = start + 1;
        for (;;) {
            const char *q = end < n ? memchr(m + end, '"', n - end) : NULL;
            if (q == NULL) {
                *vp = m + start + 1;
                *vn = n - start - 1;
                return;
            }
            end = q - m;
            if (m[end - 1] != '\\') {
                *vp = m + start + 1;
                *vn = end - start - 1;
                return;
            }
            end += 1;
        }
    }
    Py_ssize_t end = n;
    for (Py_ssize_t i = start; i + 1 < n; i++) {
        const char *q = memchr(m + i, ',', n - i - 1);
        if (q == NULL)
            break;
        i = q - m;
        if (m[i + 1] == ' ') {
            end = i;
            break;
        }
    }
    Py_ssize_t a = start, b = end;
    if (a > b)
        a = b;
    while (a < b && py_space((unsigned char)m[a]))
        a++;
    while (b > a && py_space((unsigned char)m[b - 1]))
        b--;
    *vp = m + a;
    *vn = b - a;
}

static const char *CTX_KEYS[NCTX] = NT_CTX_KEYS;
static const Py_ssize_t CTX_LENS[NCTX] = NT_CTX_LENS;

/* ---- aggregation -------------------------------------------------------------------- */

static int add_value(Scanner *s, uint32_t hi, uint8_t kind, const char *p, size_t n, int64_t seq)
{
    Head *h = &s->heads[hi];
    int created;
    Py_ssize_t ei;
    uint32_t last = h->last[kind];
    if (last != UINT32_MAX) { /* the same value as this head's last line (a worker, a client, a host): no hashing */
        Entry *e = &s->entries[last];
        if (e->len == n && eq_bytes(s->arena + e->off, p, n)) {
            e->count++;
            return 0;
        }
    }
    if (h->distinct[kind] >= (uint32_t)s->max_distinct) {
        /* past the cap: only existing values still count; look up without inserting */
        uint64_t hv = hash_bytes(p, n, ((uint64_t)hi << 3 | kind) * 0x9e3779b97f4a7c15ULL + 1);
        size_t mask = s->table_cap - 1;
        size_t j = (size_t)hv & mask;
        for (;;) {
            int32_t idx = s->table[j];
            if (idx < 0)
                break;
            Entry *e = &s->entries[idx];
            if (e->hash == hv && e->len == n && e->kind == kind && e->head == hi && eq_bytes(s->arena + e->off, p, n)) {
                e->count++;
                h->last[kind] = (uint32_t)idx;
                return 0;
            }
            j = (j + 1) & mask;
        }
        h->other[kind]++;
        return 0;
    }
    ei = lookup(s, kind, hi, p, n, seq, &created);
    if (ei < 0)
        return -1;
    h = &s->heads[hi];
    if (created)
        h->distinct[kind]++;
    s->entries[ei].count++;
    h->last[kind] = (uint32_t)ei;
    return 0;
}

static int aggregate(Scanner *s, const char *raw, Py_ssize_t rawlen, const Parsed *ps, int64_t seq)
{
    const char *m = ps->msg;
    Py_ssize_t n = ps->msg_len;
    static const char CUT[] = ", client: ";
    Py_ssize_t cut = -1;
    for (Py_ssize_t i = 0; i + 10 <= n;) { /* first ", client: " (commas are rare: cheaper than memmem) */
        const char *q = memchr(m + i, ',', (size_t)(n - 9 - i));
        if (q == NULL)
            break;
        i = q - m;
        if (rd64(m + i) == rd64(CUT) && m[i + 8] == CUT[8] && m[i + 9] == CUT[9]) {
            cut = i;
            break;
        }
        i++;
    }
    Py_ssize_t head_len = cut < 0 ? n : cut;
    int created;
    Py_ssize_t ei = lookup(s, KIND_HEAD, UINT32_MAX, m, head_len, seq, &created);
    if (ei < 0)
        return -1;
    uint32_t hi;
    Head *h;
    if (created) {
        if (grow((void **)&s->heads, &s->heads_cap, s->nheads + 1, sizeof(Head)) < 0)
            return -1;
        if (grow((void **)&s->last_sample, &s->last_cap, s->nheads + 1, sizeof(uint32_t)) < 0)
            return -1;
        hi = (uint32_t)s->nheads++;
        s->entries[ei].head = UINT32_MAX;
        s->entries[ei].count = hi; /* heads: count holds the head index */
        h = &s->heads[hi];
        memset(h, 0, sizeof(Head));
        h->entry = (uint32_t)ei;
        h->first_seq = seq;
        memcpy(h->tfirst, ps->time, TIME_LEN);
        memcpy(h->tlast, ps->time, TIME_LEN);
        h->sample0 = UINT32_MAX;
        for (int k = 0; k < NKINDS; k++)
            h->last[k] = UINT32_MAX;
    } else {
        hi = (uint32_t)s->entries[ei].count;
        h = &s->heads[hi];
        if (!eq_bytes(ps->time, h->tlast, TIME_LEN)) { /* a time equal to the latest moves neither bound */
            if (memcmp(ps->time, h->tfirst, TIME_LEN) < 0)
                memcpy(h->tfirst, ps->time, TIME_LEN);
            if (memcmp(ps->time, h->tlast, TIME_LEN) > 0)
                memcpy(h->tlast, ps->time, TIME_LEN);
        }
    }
    h->count++;
    if (h->lvl_count[ps->level]++ == 0)
        h->lvl_seq[ps->level] = seq;
    if (h->nsamples < (uint32_t)s->max_samples) {
        if (grow((void **)&s->samples, &s->samples_cap, s->nsamples + 1, sizeof(Sample)) < 0)
            return -1;
        Py_ssize_t off = arena_put(s, raw, (size_t)rawlen);
        if (off < 0)
            return -1;
        h = &s->heads[hi];
        uint32_t si = (uint32_t)s->nsamples++;
        s->samples[si].seq = seq;
        s->samples[si].off = (size_t)off;
        s->samples[si].len = (uint32_t)rawlen;
        s->samples[si].next = UINT32_MAX;
        if (h->nsamples == 0)
            h->sample0 = si;
        else
            s->samples[s->last_sample[hi]].next = si;
        s->last_sample[hi] = si;
        h->nsamples++;
    }
    if (add_value(s, hi, 0, ps->pid, (size_t)ps->pid_len, seq) < 0)
        return -1;
    if (cut >= 0) {
        Py_ssize_t at[NCTX] = {cut, -1, -1, -1};
        int missing = 3;
        Py_ssize_t i = cut + 1;
        while (missing > 0 && i + 1 < n) {
            const char *q = memchr(m + i, ',', n - i - 1);
            if (q == NULL)
                break;
            i = q - m;
            if (m[i + 1] == ' ') {
                for (int k = 1; k < NCTX; k++) {
                    if (at[k] < 0 && i + 2 + CTX_LENS[k] <= n && m[i + 2] == CTX_KEYS[k][0] &&
                        eq_bytes(m + i + 2, CTX_KEYS[k], (size_t)CTX_LENS[k])) {
                        at[k] = i;
                        missing--;
                        break;
                    }
                }
            }
            i++;
        }
        for (int k = 0; k < NCTX; k++) {
            if (at[k] < 0)
                continue;
            const char *vp;
            Py_ssize_t vn;
            context_value(m, n, at[k] + 2 + CTX_LENS[k], &vp, &vn);
            if (vn > 0 && add_value(s, hi, (uint8_t)(k + 1), vp, (size_t)vn, seq) < 0)
                return -1;
        }
    }
    s->aggregated++;
    return 0;
}

/* 0: aggregated (or blank), 1: fallback, -1: error */
static int handle_line(Scanner *s, const char *p, Py_ssize_t n, int64_t seq)
{
    if (n > MAX_LINE_CHARS || has_high_byte(p, (size_t)n))
        return 1;
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    Py_ssize_t i = 0;
    while (i < n && py_space((unsigned char)p[i]))
        i++;
    if (i == n) {
        s->blank++;
        return 0;
    }
    Parsed ps;
    if (parse_standard(p, n, 0, &ps))
        return aggregate(s, p, n, &ps, seq) < 0 ? -1 : 0;
    if (n > 30 && p[4] == '/' && p[19] == ' ' && p[20] == '[')
        return 1; /* looked standard but _parse_standard refused it: the regex path decides */
    Py_ssize_t w = compose_prefix(p, n);
    if (w > 0 && parse_standard(p + w, n - w, 1, &ps))
        return aggregate(s, p, n, &ps, seq) < 0 ? -1 : 0;
    return 1;
}

static int is_full(Scanner *s)
{
    return (Py_ssize_t)s->nheads >= s->max_heads || (Py_ssize_t)s->nentries + 8 > s->max_entries ||
           (Py_ssize_t)s->arena_len + MAX_LINE_BYTES * 2 > s->max_arena;
}

/* ---- Python type -------------------------------------------------------------------- */

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"max_heads", "max_distinct", "max_samples", "max_entries", "max_arena", "max_fallback", NULL};
    s->max_heads = 20000;
    s->max_distinct = 2000;
    s->max_samples = 20;
    s->max_entries = 1000000;
    s->max_arena = 32 << 20;
    s->max_fallback = 1024;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|nnnnnn", kwlist, &s->max_heads, &s->max_distinct, &s->max_samples,
                                     &s->max_entries, &s->max_arena, &s->max_fallback))
        return -1;
    if (s->max_heads < 1 || s->max_distinct < 1 || s->max_samples < 1 || s->max_entries < 64 || s->max_arena < (4 * MAX_LINE_BYTES) ||
        s->max_fallback < 1 || s->max_entries > INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "Scanner limits out of range");
        return -1;
    }
    if (s->table == NULL) {
        s->table_cap = 1024;
        s->table = PyMem_Malloc(s->table_cap * sizeof(int32_t));
        if (s->table == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    s->len = s->pos = 0;
    s->eof = s->skipping = 0;
    s->seq = 0;
    state_clear(s);
    return 0;
}

static void Scanner_dealloc(Scanner *s)
{
    PyMem_Free(s->buf);
    PyMem_Free(s->entries);
    PyMem_Free(s->table);
    PyMem_Free(s->arena);
    PyMem_Free(s->heads);
    PyMem_Free(s->samples);
    PyMem_Free(s->last_sample);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *Scanner_feed(Scanner *s, PyObject *arg)
{
    Py_buffer view;
    if (s->eof) {
        PyErr_SetString(PyExc_ValueError, "feed() after finish()");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (grow((void **)&s->buf, &s->cap, s->len + (size_t)view.len + 1, 1) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    memcpy(s->buf + s->len, view.buf, (size_t)view.len);
    s->len += (size_t)view.len;
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Scanner_finish(Scanner *s, PyObject *Py_UNUSED(ignored))
{
    s->eof = 1;
    Py_RETURN_NONE;
}

static int push_fallback(PyObject *list, int64_t seq, const char *p, Py_ssize_t n)
{
    PyObject *t = Py_BuildValue("(Ly#)", (long long)seq, p, n);
    if (t == NULL)
        return -1;
    int rc = PyList_Append(list, t);
    Py_DECREF(t);
    return rc;
}

/* Process buffered lines until they run out or a limit stops it.
 * Returns (fallback_lines, more): more is True when it stopped with lines left. */
static PyObject *Scanner_run(Scanner *s, PyObject *Py_UNUSED(ignored))
{
    PyObject *fb = PyList_New(0);
    if (fb == NULL)
        return NULL;
    int more = 0;
    while (s->pos < s->len) {
        if (is_full(s) || PyList_GET_SIZE(fb) >= s->max_fallback) {
            more = 1;
            break;
        }
        char *start = s->buf + s->pos;
        size_t avail = s->len - s->pos;
        char *nl = memchr(start, '\n', avail);
        if (s->skipping) {
            if (nl == NULL) {
                s->pos = s->len;
                break;
            }
            s->skipping = 0;
            s->pos = (size_t)(nl - s->buf) + 1;
            continue;
        }
        Py_ssize_t n;
        size_t next;
        if (nl != NULL) {
            n = nl - start;
            next = s->pos + (size_t)n + 1;
            if (n > MAX_LINE_BYTES)
                n = MAX_LINE_BYTES;
        } else if (avail > MAX_LINE_BYTES) {
            n = MAX_LINE_BYTES; /* overlong: yield its head, drop the rest up to its newline */
            next = s->len;
            s->skipping = 1;
        } else if (s->eof) {
            n = (Py_ssize_t)avail;
            next = s->len;
        } else {
            break; /* partial last line: wait for more input */
        }
        int64_t seq = s->seq++;
        int rc = handle_line(s, start, n, seq);
        if (rc < 0) {
            Py_DECREF(fb);
            return NULL;
        }
        if (rc == 1 && push_fallback(fb, seq, start, n) < 0) {
            Py_DECREF(fb);
            return NULL;
        }
        s->pos = next;
    }
    if (s->pos == s->len) {
        s->pos = s->len = 0;
    }
    PyObject *res = Py_BuildValue("(NO)", fb, more ? Py_True : Py_False);
    return res;
}

static PyObject *str_of(Scanner *s, size_t off, size_t n)
{
    return PyUnicode_DecodeASCII(s->arena + off, (Py_ssize_t)n, "strict");
}

/* Every head with its aggregates, then clear the state (the sequence counter keeps going).
 * Head tuple: (head, count, first_seq, first_time, last_time,
 *              [(level, n, seq)], [(seq, raw)], [[(value, n, seq)] * 5], (other * 5))
 * Value kinds: pid, client, server, upstream, host. Returns (heads, blank_lines). */
static PyObject *Scanner_export(Scanner *s, PyObject *Py_UNUSED(ignored))
{
    PyObject *heads = PyList_New((Py_ssize_t)s->nheads);
    PyObject **kinds = NULL;
    if (heads == NULL)
        return NULL;
    if (s->nheads > 0) {
        kinds = PyMem_Calloc(s->nheads * NKINDS, sizeof(PyObject *));
        if (kinds == NULL) {
            Py_DECREF(heads);
            return PyErr_NoMemory();
        }
    }
    for (size_t i = 0; i < s->nheads * NKINDS; i++) {
        kinds[i] = PyList_New(0);
        if (kinds[i] == NULL)
            goto fail;
    }
    for (size_t i = 0; i < s->nentries; i++) {
        Entry *e = &s->entries[i];
        if (e->kind == KIND_HEAD)
            continue;
        PyObject *v = str_of(s, e->off, e->len);
        if (v == NULL)
            goto fail;
        PyObject *t = Py_BuildValue("(NLL)", v, (long long)e->count, (long long)e->first_seq);
        if (t == NULL)
            goto fail;
        int rc = PyList_Append(kinds[(size_t)e->head * NKINDS + e->kind], t);
        Py_DECREF(t);
        if (rc < 0)
            goto fail;
    }
    for (size_t hi = 0; hi < s->nheads; hi++) {
        Head *h = &s->heads[hi];
        Entry *e = &s->entries[h->entry];
        PyObject *levels = PyList_New(0), *samples = PyList_New(0), *values = PyList_New(NKINDS);
        if (levels == NULL || samples == NULL || values == NULL) {
            Py_XDECREF(levels);
            Py_XDECREF(samples);
            Py_XDECREF(values);
            goto fail;
        }
        for (int k = 0; k < NKINDS; k++) {
            PyList_SET_ITEM(values, k, kinds[hi * NKINDS + k]);
            kinds[hi * NKINDS + k] = NULL;
        }
        int bad = 0;
        for (int l = 0; l < NLEVELS && !bad; l++) {
            if (h->lvl_count[l] == 0)
                continue;
            PyObject *t = Py_BuildValue("(sLL)", LEVEL_NAMES[l], (long long)h->lvl_count[l], (long long)h->lvl_seq[l]);
            bad = t == NULL || PyList_Append(levels, t) < 0;
            Py_XDECREF(t);
        }
        for (uint32_t si = h->sample0; si != UINT32_MAX && !bad; si = s->samples[si].next) {
            PyObject *raw = str_of(s, s->samples[si].off, s->samples[si].len);
            PyObject *t = raw ? Py_BuildValue("(LN)", (long long)s->samples[si].seq, raw) : NULL;
            bad = t == NULL || PyList_Append(samples, t) < 0;
            Py_XDECREF(t);
        }
        PyObject *head = bad ? NULL : str_of(s, e->off, e->len);
        PyObject *tuple = head == NULL ? NULL
            : Py_BuildValue("(NLLs#s#NNN(LLLLL))", head, (long long)h->count, (long long)h->first_seq,
                            h->tfirst, (Py_ssize_t)TIME_LEN, h->tlast, (Py_ssize_t)TIME_LEN, levels, samples, values,
                            (long long)h->other[0], (long long)h->other[1], (long long)h->other[2],
                            (long long)h->other[3], (long long)h->other[4]);
        if (tuple == NULL) {
            if (head == NULL) {
                Py_DECREF(levels);
                Py_DECREF(samples);
                Py_DECREF(values);
            }
            goto fail;
        }
        PyList_SET_ITEM(heads, (Py_ssize_t)hi, tuple);
    }
    PyMem_Free(kinds);
    PyObject *res = Py_BuildValue("(NL)", heads, (long long)s->blank);
    state_clear(s);
    return res;
fail:
    if (kinds != NULL) {
        for (size_t i = 0; i < s->nheads * NKINDS; i++)
            Py_XDECREF(kinds[i]);
        PyMem_Free(kinds);
    }
    Py_DECREF(heads);
    return NULL;
}

static PyObject *Scanner_get_full(Scanner *s, void *Py_UNUSED(c)) { return PyBool_FromLong(is_full(s)); }
static PyObject *Scanner_get_heads(Scanner *s, void *Py_UNUSED(c)) { return PyLong_FromSize_t(s->nheads); }
static PyObject *Scanner_get_seq(Scanner *s, void *Py_UNUSED(c)) { return PyLong_FromLongLong(s->seq); }
static PyObject *Scanner_get_aggregated(Scanner *s, void *Py_UNUSED(c)) { return PyLong_FromLongLong(s->aggregated); }

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_O, "Append bytes to the input buffer."},
    {"finish", (PyCFunction)Scanner_finish, METH_NOARGS, "Mark the end of input: a last line without newline counts."},
    {"run", (PyCFunction)Scanner_run, METH_NOARGS, "Process buffered lines; returns (fallback_lines, more)."},
    {"export", (PyCFunction)Scanner_export, METH_NOARGS, "Return (heads, blank_lines) and clear the aggregates."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"full", (getter)Scanner_get_full, NULL, "True when a limit requires export() before more lines.", NULL},
    {"heads", (getter)Scanner_get_heads, NULL, "Distinct heads held.", NULL},
    {"seq", (getter)Scanner_get_seq, NULL, "Lines seen so far.", NULL},
    {"aggregated", (getter)Scanner_get_aggregated, NULL, "Lines aggregated since the last export.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bot.native._fastscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Aggregates standard nginx error-log lines by message head.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef fastscan_module = {
    PyModuleDef_HEAD_INIT, "_fastscan", "Aggregate nginx error-log lines by message head.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastscan(void)
{
    for (int i = 0; i < NLEVELS; i++)
        LEVEL_LENS[i] = (Py_ssize_t)strlen(LEVEL_NAMES[i]);
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fastscan_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "LAYOUT_VERSION", NT_LAYOUT_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "MAX_LINE_BYTES", MAX_LINE_BYTES) < 0 ||
        PyModule_AddIntConstant(m, "MAX_LINE_CHARS", MAX_LINE_CHARS) < 0 ||
        PyModule_AddObject(m, "LEVELS", Py_BuildValue("(ssssssss)", LEVEL_NAMES[0], LEVEL_NAMES[1], LEVEL_NAMES[2],
                                                      LEVEL_NAMES[3], LEVEL_NAMES[4], LEVEL_NAMES[5], LEVEL_NAMES[6],
                                                      LEVEL_NAMES[7])) < 0 ||
        PyModule_AddObject(m, "CTX_KEYS", Py_BuildValue("(ssss)", CTX_KEYS[0], CTX_KEYS[1], CTX_KEYS[2], CTX_KEYS[3])) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
