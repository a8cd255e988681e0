/*
 * topic.conf: a topic's owner, mode and the settings it overrides, as text
 * lines "key=value" closed by "crc=XXXXXXXX" (CRC32C of the lines before it),
 * replaced atomically. Text, so an operator can read it with cat.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_MAX 4096

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
	char buf[CONF_MAX], val[64];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "mode=%o\nuid=%u\ngid=%u\n",
			      meta->mode & 07777, meta->uid, meta->gid);
	if (lfs_mirror_name_check(meta->mirror) < 0)
		return -EINVAL;
	if (meta->mirror[0])
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "mirror=%s\n", meta->mirror);
	for (int id = 0; id < LFS_SET_COUNT; id++) {
		if (!(mask & (1u << id)))
			continue;
		if (lfs_setting_format(own, id, val, sizeof(val)) < 0)
			return -EINVAL;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s=%s\n", lfs_setting_name(id), val);
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "crc=%08x\n", lfs_crc32c(0, buf, n));
	return lfs_write_file_atomic(dirfd, LFS_TOPIC_CONF, buf, n);
}

int lfs_topic_conf_read(int dirfd, struct lfs_topic_meta *meta, struct lfs_settings *own,
			uint32_t *mask)
{
	char buf[CONF_MAX + 1];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_TOPIC_CONF, buf, CONF_MAX, &len);

	if (rc < 0)
		return rc;
	buf[len] = 0;
	char *crcline = strstr(buf, "crc=");
	if (!crcline || (crcline != buf && crcline[-1] != '\n'))
		return -EUCLEAN;
	char *end;
	unsigned long crc = strtoul(crcline + 4, &end, 16);
	if (end != crcline + 12 || *end != '\n' || end[1] != 0 ||
	    crc != lfs_crc32c(0, buf, (size_t)(crcline - buf)))
		return -EUCLEAN;
	*crcline = 0;

	memset(meta, 0, sizeof(*meta));
	memset(own, 0, sizeof(*own));
	*mask = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			return -EUCLEAN;
		*eq = 0;
		const char *val = eq + 1;
		if (!strcmp(line, "mode"))
			meta->mode = (uint32_t)strtoul(val, NULL, 8);
		else if (!strcmp(line, "uid"))
			meta->uid = (uint32_t)strtoul(val, NULL, 10);
		else if (!strcmp(line, "gid"))
			meta->gid = (uint32_t)strtoul(val, NULL, 10);
		else if (!strcmp(line, "mirror")) {
			if (lfs_mirror_name_check(val) < 0)
				return -EUCLEAN;
			snprintf(meta->mirror, sizeof(meta->mirror), "%s", val);
		} else {
			int id = lfs_setting_lookup(line);
			if (id < 0 || lfs_setting_parse(own, id, val) < 0)
				return -EUCLEAN;
			*mask |= 1u << id;
		}
	}
	return 0;
}
