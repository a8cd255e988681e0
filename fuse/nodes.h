/*
 * The inode table: FUSE inode numbers to what they name. A node lives from
 * the lookup that creates it until the kernel forgets it; the same name
 * always maps to the same inode while it is known, so `tail -F` sees a
 * stable file.
 */
#ifndef LFS_FUSE_NODES_H
#define LFS_FUSE_NODES_H

#include "logfs.h"

#include <stdint.h>

/* NODE_CURSORS: a topic's cursors/ directory; NODE_CURSOR: one cursor
 * (its name in `at`). */
enum node_kind { NODE_ROOT, NODE_TOPIC, NODE_TAIL, NODE_SEGMENT, NODE_AT, NODE_CURSORS, NODE_CURSOR };

struct node {
	uint64_t ino;
	enum node_kind kind;
	lfs_topic *topic; /* a reference; NULL for the root */
	uint64_t base;    /* NODE_SEGMENT */
	char *at;         /* NODE_AT: the text after '@'; NODE_CURSOR: its name */
	uint64_t nlookup;
	struct node *hnext_ino, *hnext_key;
	/* NODE_SEGMENT, protected by pt_mu (passthrough.c): how the kernel
	 * inode's open files read it, and the backing id they share. */
	uint32_t pt_opens, cached_opens;
	int32_t backing_id;
};

int nodes_init(void);
void nodes_destroy(void);
/* Finds or creates the node for (kind, topic, base/at) and counts a lookup.
 * Takes its own topic reference. */
struct node *nodes_get(enum node_kind kind, lfs_topic *topic, uint64_t base, const char *at);
/* The node for ino with a temporary hold (release with nodes_put), or NULL. */
struct node *nodes_find(uint64_t ino);
void nodes_put(struct node *n);
void nodes_forget(uint64_t ino, uint64_t nlookup);

#endif
