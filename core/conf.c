/*
 * topic.conf: a topic's owner, mode and the settings it overrides, replaced
 * atomically; its encoding is in format.c. Also the merge of a topic's own
 * settings over the volume's.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lfs_settings_merge(struct lfs_settings *out, const struct lfs_settings *base,
			const struct lfs_settings *own, uint32_t mask)
{
	*out = *base;
	if (mask & (1u << LFS_SET_SEGMENT_SIZE))
		out->segment_size = own->segment_size;
	if (mask & (1u << LFS_SET_SEGMENT_MS))
		out->segment_ms = own->segment_ms;
	if (mask & (1u << LFS_SET_RETENTION_BYTES))
		out->retention_bytes = own->retention_bytes;
	if (mask & (1u << LFS_SET_RETENTION_MS))
		out->retention_ms = own->retention_ms;
	if (mask & (1u << LFS_SET_MAX_RECORD))
		out->max_record = own->max_record;
	if (mask & (1u << LFS_SET_SYNC)) {
		out->sync_mode = own->sync_mode;
		out->sync_ms = own->sync_ms;
	}
	if (mask & (1u << LFS_SET_FRAMING))
		out->framing = own->framing;
}

int lfs_topic_conf_write(int dirfd, const struct lfs_topic_meta *meta,
			 const struct lfs_settings *own, uint32_t mask)
{
	char buf[LFS_CONF_MAX];
	int n = lfs_conf_encode(meta, own, mask, buf);
	if (n < 0)
		return n;
	return lfs_write_file_atomic(dirfd, LFS_TOPIC_CONF, buf, (size_t)n);
}

int lfs_topic_conf_read(int dirfd, struct lfs_topic_meta *meta, struct lfs_settings *own,
			uint32_t *mask)
{
	char buf[LFS_CONF_MAX + 1];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_TOPIC_CONF, buf, LFS_CONF_MAX, &len);
	if (rc < 0)
		return rc;
	return lfs_conf_decode(buf, len, meta, own, mask);
}
