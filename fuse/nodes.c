#include "nodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FUSE_ROOT_INO 1
#define NBUCKETS 4096

/* Nodes are reference counted by lookups (nlookup, the kernel's count) and
 * by holds taken while a request or an open file uses them; freed when both
 * reach zero. */
struct entry {
	struct node n;
	uint64_t holds;
};

/* The st_ino of an `@...` name, shared by its nodes (refs counts them). */
struct view_ino {
	struct view_ino *next;
	uint64_t topic_id;
	char *at;
	uint64_t st_ino;
	uint64_t refs;
};

/* mu protects everything below and every node's nlookup, holds and hash
 * links. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct node *by_ino[NBUCKETS], *by_key[NBUCKETS];
static struct view_ino *views[NBUCKETS];
/* Node ids and the st_ino of named nodes and views are even; odd numbers
 * above 1 are the st_ino of `tail` files (2 * topic id + 1, topic ids being
 * unique while the volume is open), so they never meet. */
static uint64_t next_ino = FUSE_ROOT_INO + 1;
static struct entry root = {.n = {.ino = FUSE_ROOT_INO, .st_ino = FUSE_ROOT_INO, .kind = NODE_ROOT, .nlookup = 1}};

static bool per_open(enum node_kind kind)
{
	return kind == NODE_TAIL || kind == NODE_AT;
}

static uint64_t take_ino(void)
{
	uint64_t ino = next_ino;
	next_ino += 2;
	return ino;
}

static uint64_t str_hash(uint64_t h, const char *s)
{
	for (const char *p = s; p && *p; p++)
		h = h * 131 + (unsigned char)*p;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}

static uint64_t key_hash(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at)
{
	uint64_t h = (uint64_t)kind * 0x9e3779b97f4a7c15ull ^ (t ? lfs_topic_id(t) : 0) * 31 ^ base;
	return str_hash(h, at);
}

static bool key_eq(const struct node *n, enum node_kind kind, lfs_topic *t, uint64_t base,
		   const char *at)
{
	if (n->kind != kind || n->topic != t || n->base != base)
		return false;
	if (!at || !n->at)
		return !at && !n->at;
	return strcmp(at, n->at) == 0;
}

int nodes_init(void)
{
	return 0;
}

/* The view entry of (topic, at) with one more reference, made if needed
 * (mu held); NULL without memory. */
static struct view_ino *view_ref(uint64_t topic_id, const char *at)
{
	struct view_ino **head = &views[str_hash(topic_id, at) % NBUCKETS], *v;
	for (v = *head; v; v = v->next)
		if (v->topic_id == topic_id && strcmp(v->at, at) == 0)
			break;
	if (!v) {
		v = calloc(1, sizeof(*v));
		char *dup = strdup(at);
		if (!v || !dup) {
			free(v);
			free(dup);
			return NULL;
		}
		v->topic_id = topic_id;
		v->at = dup;
		v->st_ino = take_ino();
		v->next = *head;
		*head = v;
	}
	v->refs++;
	return v;
}

/* mu held */
static void view_unref(struct view_ino *v)
{
	if (!v || --v->refs > 0)
		return;
	struct view_ino **pp = &views[str_hash(v->topic_id, v->at) % NBUCKETS];
	while (*pp != v)
		pp = &(*pp)->next;
	*pp = v->next;
	free(v->at);
	free(v);
}

/* mu held */
static void unlink_node(struct node *n)
{
	struct node **pp = &by_ino[n->ino % NBUCKETS];
	while (*pp != n)
		pp = &(*pp)->hnext_ino;
	*pp = n->hnext_ino;
	if (!per_open(n->kind)) {
		pp = &by_key[key_hash(n->kind, n->topic, n->base, n->at) % NBUCKETS];
		while (*pp != n)
			pp = &(*pp)->hnext_key;
		*pp = n->hnext_key;
	}
	view_unref(n->view);
	n->view = NULL;
}

/* After unlink_node, outside mu (dropping a topic reference may close it). */
static void free_node(struct node *n)
{
	lfs_topic_put(n->topic);
	free(n->at);
	free((struct entry *)n);
}

void nodes_destroy(void)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < NBUCKETS; i++) {
		struct node *n = by_ino[i];
		while (n) {
			struct node *next = n->hnext_ino;
			view_unref(n->view);
			free_node(n);
			n = next;
		}
		by_ino[i] = by_key[i] = NULL;
	}
	pthread_mutex_unlock(&mu);
}

/* A new node (mu held); NULL without memory. */
static struct node *node_new(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at)
{
	struct entry *e = calloc(1, sizeof(*e));
	char *dup = at ? strdup(at) : NULL;
	if (!e || (at && !dup)) {
		free(e);
		free(dup);
		return NULL;
	}
	struct node *n = &e->n;
	n->kind = kind;
	if (kind == NODE_AT) {
		n->view = view_ref(lfs_topic_id(t), at);
		if (!n->view) {
			free(dup);
			free(e);
			return NULL;
		}
	}
	n->ino = take_ino();
	n->st_ino = kind == NODE_TAIL ? 2 * lfs_topic_id(t) + 1 : n->view ? n->view->st_ino : n->ino;
	n->topic = t;
	if (t)
		lfs_topic_ref(t);
	n->base = base;
	n->at = dup;
	n->hnext_ino = by_ino[n->ino % NBUCKETS];
	by_ino[n->ino % NBUCKETS] = n;
	return n;
}

struct node *nodes_get(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at)
{
	uint64_t h = key_hash(kind, t, base, at) % NBUCKETS;
	struct node *n = NULL;

	pthread_mutex_lock(&mu);
	if (!per_open(kind))
		for (n = by_key[h]; n; n = n->hnext_key)
			if (key_eq(n, kind, t, base, at))
				break;
	if (!n) {
		n = node_new(kind, t, base, at);
		if (n && !per_open(kind)) {
			n->hnext_key = by_key[h];
			by_key[h] = n;
		}
	}
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&mu);
	return n;
}

bool nodes_ino_of(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at, uint64_t *ino)
{
	if (per_open(kind))
		return false;
	struct node *n;
	pthread_mutex_lock(&mu);
	for (n = by_key[key_hash(kind, t, base, at) % NBUCKETS]; n; n = n->hnext_key)
		if (key_eq(n, kind, t, base, at))
			break;
	if (n)
		*ino = n->ino;
	pthread_mutex_unlock(&mu);
	return n != NULL;
}

/* mu held */
static struct node *find_locked(uint64_t ino)
{
	struct node *n;
	for (n = by_ino[ino % NBUCKETS]; n; n = n->hnext_ino)
		if (n->ino == ino)
			break;
	return n;
}

struct node *nodes_find(uint64_t ino)
{
	if (ino == FUSE_ROOT_INO)
		return &root.n;
	pthread_mutex_lock(&mu);
	struct node *n = find_locked(ino);
	if (n)
		((struct entry *)n)->holds++;
	pthread_mutex_unlock(&mu);
	return n;
}

void nodes_put(struct node *n)
{
	if (!n || n == &root.n)
		return;
	pthread_mutex_lock(&mu);
	struct entry *e = (struct entry *)n;
	bool gone = --e->holds == 0 && n->nlookup == 0;
	if (gone)
		unlink_node(n);
	pthread_mutex_unlock(&mu);
	if (gone)
		free_node(n);
}

void nodes_forget(uint64_t ino, uint64_t nlookup)
{
	if (ino == FUSE_ROOT_INO)
		return;
	pthread_mutex_lock(&mu);
	struct node *n = find_locked(ino);
	bool gone = false;
	if (n) {
		n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
		gone = n->nlookup == 0 && ((struct entry *)n)->holds == 0;
		if (gone)
			unlink_node(n);
	}
	pthread_mutex_unlock(&mu);
	if (gone)
		free_node(n);
}
