/*
 * The inode table: FUSE node ids to what they name.
 *
 * Two kinds of node (docs/DESIGN.md, "One inode per open"):
 *  - named nodes (the root, topics, sealed segments, cursors/ and cursors):
 *    one node per name while the kernel knows it; its node id is its st_ino;
 *  - per-open nodes (`tail` and `@...` views): every LOOKUP makes a new node
 *    with a new node id, so the kernel makes a new inode for every path walk
 *    and so for every open (its inode lock, i_size and attributes belong to
 *    that open file alone), while st_ino stays the same for the name:
 *    2 * topic id + 1 for `tail` (named nodes get even numbers), and for an
 *    `@...` view a number shared by every node of that name while one lives.
 * A node lives from the LOOKUP that makes it until the kernel forgets it and
 * no request or open file holds it.
 */
#ifndef LFS_FUSE_NODES_H
#define LFS_FUSE_NODES_H

#include "logfs.h"

#include <stdint.h>

/* NODE_CURSORS: a topic's cursors/ directory; NODE_CURSOR: one cursor
 * (its name in `at`). */
enum node_kind { NODE_ROOT, NODE_TOPIC, NODE_TAIL, NODE_SEGMENT, NODE_AT, NODE_CURSORS, NODE_CURSOR };

struct view_ino;

struct node {
	uint64_t ino;    /* the node id: the kernel's key for its inode */
	uint64_t st_ino; /* what stat(2) shows */
	enum node_kind kind;
	lfs_topic *topic; /* a reference; NULL for the root */
	uint64_t base;    /* NODE_SEGMENT */
	char *at;         /* NODE_AT: the text after '@'; NODE_CURSOR: its name */
	uint64_t nlookup;
	struct node *hnext_ino, *hnext_key;
	struct view_ino *view; /* NODE_AT: its name's st_ino, shared */
	/* The files opened through this node, newest first (ops.c's struct
	 * handle; protected by ops.c's handles_mu): a GETATTR by inode finds
	 * its open files here without walking every handle. */
	void *opens;
	/* NODE_SEGMENT, protected by pt_mu (passthrough.c): how the kernel
	 * inode's open files read it, and the backing id they share. */
	uint32_t pt_opens, cached_opens;
	int32_t backing_id;
};

int nodes_init(void);
void nodes_destroy(void);
/* A node for (kind, topic, base/at) with one more lookup counted: for a
 * named kind the one that exists or a new one, for `tail` and `@...`
 * always a new one. Takes its own topic reference; NULL without memory. */
struct node *nodes_get(enum node_kind kind, lfs_topic *topic, uint64_t base, const char *at);
/* The node id of the named node (kind, topic, base/at) if the kernel knows
 * one: true and *ino, or false. */
bool nodes_ino_of(enum node_kind kind, lfs_topic *topic, uint64_t base, const char *at, uint64_t *ino);
/* The node for ino with a temporary hold (release with nodes_put), or NULL. */
struct node *nodes_find(uint64_t ino);
void nodes_put(struct node *n);
void nodes_forget(uint64_t ino, uint64_t nlookup);

#endif
