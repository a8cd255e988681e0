/*
 * Runtime errors recorded in the volume, like ext4's error state: the
 * daemon writes the file LFS_ERRORS_FILE (atomically) at the first
 * checksum failure or I/O error it meets, so that neither a clean unmount
 * nor a crash hides it; fsck.logfs, seeing it, checks every record even of
 * a cleanly unmounted volume, and removes it once it has repaired
 * everything (docs/FORMAT.md, "errors").
 */
#include "internal.h"
#include "format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Later errors of one mount rewrite the record at most this often (a
 * reader retrying a damaged batch must not make a write per read); close
 * writes what is pending. */
#define REWRITE_NS 1000000000ull

int lfs_errors_read(int dirfd, struct lfs_errors *e)
{
	unsigned char buf[LFS_ERRORS_SIZE + 1];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_ERRORS_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	rc = lfs_errors_decode(buf, len, e);
	return rc < 0 ? rc : 1;
}

int lfs_errors_clear(int dirfd)
{
	if (unlinkat(dirfd, LFS_ERRORS_FILE, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	return lfs_fsync_dir(dirfd);
}

static int errors_write(lfs_volume *v)
{
	unsigned char buf[LFS_ERRORS_SIZE];
	lfs_errors_encode(&v->errors, buf);
	return lfs_write_file_atomic(v->dirfd, LFS_ERRORS_FILE, buf, sizeof(buf));
}

void lfs_volume_errors_load(lfs_volume *v)
{
	int rc = lfs_errors_read(v->dirfd, &v->errors);
	if (rc == 1) {
		lfs_log(v, LFS_LOG_WARNING, "volume %s: %u runtime error%s recorded (last: %s): run fsck.logfs",
			v->path, v->errors.count, v->errors.count == 1 ? "" : "s", v->errors.last);
		return;
	}
	memset(&v->errors, 0, sizeof(v->errors));
	if (rc < 0) {
		/* Unreadable: still a record of errors. Rewritten whole at
		 * the next error; fsck.logfs checks every record meanwhile. */
		v->errors.count = 1;
		snprintf(v->errors.last, sizeof(v->errors.last), "(the error record was unreadable)");
		lfs_log(v, LFS_LOG_WARNING, "volume %s: its error record is unreadable (%s): run fsck.logfs",
			v->path, strerror(-rc));
	}
}

/* The record keeps the start of a message; the log has it whole. */
static void copy_text(char out[LFS_ERROR_TEXT], const char *msg)
{
	size_t n = strnlen(msg, LFS_ERROR_TEXT - 1);
	memcpy(out, msg, n);
	out[n] = 0;
}

void lfs_volume_error(lfs_volume *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lfs_log(v, LFS_LOG_ERR, "%s", msg);

	uint64_t now = lfs_volume_now(v);
	lfs_mutex_lock(&v->errors_mu);
	struct lfs_errors *e = &v->errors;
	if (e->count == 0) {
		e->first_ns = now;
		copy_text(e->first, msg);
	}
	if (e->count < UINT32_MAX)
		e->count++;
	e->last_ns = now;
	copy_text(e->last, msg);
	v->errors_pending = true;
	int rc = 0;
	bool wrote = false;
	if (!v->readonly && (!v->errors_written_ns || now - v->errors_written_ns >= REWRITE_NS)) {
		rc = errors_write(v);
		wrote = true;
		if (rc == 0) {
			v->errors_pending = false;
			v->errors_written_ns = now ? now : 1;
		}
	}
	lfs_mutex_unlock(&v->errors_mu);
	if (wrote && rc < 0)
		lfs_log(v, LFS_LOG_ERR, "volume %s: cannot record the error in the volume: %s", v->path,
			strerror(-rc));
}

int lfs_volume_errors_flush(lfs_volume *v)
{
	int rc = 0;
	lfs_mutex_lock(&v->errors_mu);
	if (v->errors_pending && !v->readonly) {
		rc = errors_write(v);
		if (rc == 0)
			v->errors_pending = false;
	}
	lfs_mutex_unlock(&v->errors_mu);
	return rc;
}

void lfs_volume_errors(lfs_volume *v, struct lfs_errors *e)
{
	lfs_mutex_lock(&v->errors_mu);
	*e = v->errors;
	lfs_mutex_unlock(&v->errors_mu);
}
