#include "nodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FUSE_ROOT_INO 1
#define NBUCKETS 4096

/* Nodes are reference counted by lookups (nlookup, the kernel's count) and
 * by holds taken while a request uses them; freed when both reach zero. */
struct entry {
	struct node n;
	uint64_t holds;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct node *by_ino[NBUCKETS], *by_key[NBUCKETS];
static uint64_t next_ino = FUSE_ROOT_INO + 1;
static struct entry root = {.n = {.ino = FUSE_ROOT_INO, .kind = NODE_ROOT, .nlookup = 1}};

static uint64_t key_hash(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at)
{
	uint64_t h = (uint64_t)kind * 0x9e3779b97f4a7c15ull ^ (t ? lfs_topic_id(t) : 0) * 31 ^ base;
	for (const char *p = at; p && *p; p++)
		h = h * 131 + (unsigned char)*p;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
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

static void unlink_node(struct node *n)
{
	struct node **pp = &by_ino[n->ino % NBUCKETS];
	while (*pp != n)
		pp = &(*pp)->hnext_ino;
	*pp = n->hnext_ino;
	pp = &by_key[key_hash(n->kind, n->topic, n->base, n->at) % NBUCKETS];
	while (*pp != n)
		pp = &(*pp)->hnext_key;
	*pp = n->hnext_key;
}

static void free_node(struct node *n)
{
	lfs_topic_put(n->topic);
	free(n->at);
	free(n);
}

void nodes_destroy(void)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < NBUCKETS; i++) {
		struct node *n = by_ino[i];
		while (n) {
			struct node *next = n->hnext_ino;
			free_node(n);
			n = next;
		}
		by_ino[i] = by_key[i] = NULL;
	}
	pthread_mutex_unlock(&mu);
}

struct node *nodes_get(enum node_kind kind, lfs_topic *t, uint64_t base, const char *at)
{
	uint64_t h = key_hash(kind, t, base, at) % NBUCKETS;
	struct node *n;

	pthread_mutex_lock(&mu);
	for (n = by_key[h]; n; n = n->hnext_key)
		if (key_eq(n, kind, t, base, at))
			break;
	if (!n) {
		struct entry *e = calloc(1, sizeof(*e));
		char *dup = at ? strdup(at) : NULL;
		if (!e || (at && !dup)) {
			free(e);
			free(dup);
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		n = &e->n;
		n->ino = next_ino++;
		n->kind = kind;
		n->topic = t;
		if (t)
			lfs_topic_ref(t);
		n->base = base;
		n->at = dup;
		n->hnext_ino = by_ino[n->ino % NBUCKETS];
		by_ino[n->ino % NBUCKETS] = n;
		n->hnext_key = by_key[h];
		by_key[h] = n;
	}
	n->nlookup++;
	pthread_mutex_unlock(&mu);
	return n;
}

struct node *nodes_find(uint64_t ino)
{
	if (ino == FUSE_ROOT_INO)
		return &root.n;
	pthread_mutex_lock(&mu);
	struct node *n;
	for (n = by_ino[ino % NBUCKETS]; n; n = n->hnext_ino)
		if (n->ino == ino)
			break;
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
	struct node *n;
	for (n = by_ino[ino % NBUCKETS]; n; n = n->hnext_ino)
		if (n->ino == ino)
			break;
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
