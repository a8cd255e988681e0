/*
 * lfsio: runs a short script of system calls, one operation after another,
 * for the integration tests (tests/integration/mount_*.sh) where a shell
 * tool cannot control or observe the detail: exact write(2) boundaries,
 * fsync on a handle that stays open, several handles at once, the errno of
 * one call.
 *
 *   lfsio OP [ARGS] OP [ARGS] ...
 *
 *   open SLOT FLAGS PATH   FLAGS: r w (O_WRONLY) a (O_APPEND) t (O_TRUNC)
 *                          c (O_CREAT) x (O_EXCL), "rw" for O_RDWR
 *   write SLOT TEXT        one write(2) of TEXT (escapes \n \t \\ \0 \xHH)
 *   writen SLOT N BYTE     one write(2) of N copies of BYTE (decimal 0-255)
 *   writefile SLOT FILE BS write FILE in write(2) calls of BS bytes each
 *   write1 SLOT FILE SKEW  one write(2) of all of FILE from a buffer that
 *                          starts SKEW bytes past a page boundary (the
 *                          kernel splits large writes by pages); prints
 *                          the result, a count or an errno name, and
 *                          succeeds whatever it is
 *   writeall SLOT FILE SKEW  the same, retried from where a short count
 *                          stopped until done or an error (what shells and
 *                          stdio do); prints each result, space-separated
 *   writev SLOT N LEN BYTE one writev(2) of N buffers of LEN copies of BYTE;
 *                          prints the result like write1
 *   fsync SLOT | fdatasync SLOT | close SLOT
 *   read SLOT N            one read(2) of up to N bytes, copied to stdout
 *   pread SLOT OFF N       one pread(2), copied to stdout
 *   readall SLOT           read(2) until 0, copied to stdout
 *   mmap SLOT              maps the whole file (st_size) read-only and
 *                          copies the mapping to stdout
 *   reopen N PATH          N times: open PATH read-only, read one byte,
 *                          close (stops at the first error)
 *   size SLOT              prints lseek(SLOT, 0, SEEK_END) and restores
 *                          the offset
 *   fstat SLOT             prints st_size from fstat(2)
 *   ftruncate SLOT LEN
 *   truncate PATH LEN      truncate(2) by name
 *   content PATH TEXT      PATH (opened, read and closed here) holds exactly
 *                          TEXT (escapes as for write): checks what a reader
 *                          sees without a fork (a child's close-on-exec of
 *                          this process's descriptors is a close(2) too)
 *   sh COMMAND             system(COMMAND) (fails if it exits non-zero)
 *   sleep MS
 *   expect ERRNAME         the next operation must fail with this errno
 *                          (EPERM, EACCES, ...), "expect 0" that it succeeds
 *
 * Exits 0 when every operation did what was expected, 1 otherwise (with a
 * message on stderr naming the operation), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 10

static int fds[SLOTS];

static void usage(const char *msg)
{
	fprintf(stderr, "lfsio: %s\n", msg);
	exit(2);
}

static const struct {
	const char *name;
	int err;
} errnames[] = {
	{"EPERM", EPERM},   {"ENOENT", ENOENT},     {"EIO", EIO},
	{"EBADF", EBADF},   {"EACCES", EACCES},     {"EBUSY", EBUSY},
	{"EEXIST", EEXIST}, {"ENOTDIR", ENOTDIR},   {"EISDIR", EISDIR},
	{"EINVAL", EINVAL}, {"EFBIG", EFBIG},       {"ENOSPC", ENOSPC},
	{"EROFS", EROFS},   {"EMSGSIZE", EMSGSIZE}, {"ENAMETOOLONG", ENAMETOOLONG},
	{"ENOTEMPTY", ENOTEMPTY}, {"ENOTCONN", ENOTCONN}, {"ENODATA", ENODATA},
	{"ENOTSUP", ENOTSUP}, {"EOPNOTSUPP", EOPNOTSUPP}, {"ESPIPE", ESPIPE},
	{"ENOBUFS", ENOBUFS},
};

static const char *errname(int e)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == e)
			return errnames[i].name;
	static char buf[32];
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static int errnum(const char *name)
{
	if (strcmp(name, "0") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (strcmp(errnames[i].name, name) == 0)
			return errnames[i].err;
	usage("unknown errno name");
	return -1;
}

static int slot(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < 0 || v >= SLOTS)
		usage("bad slot");
	return (int)v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes escapes in place; returns the length. */
static size_t unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case '0': *o++ = '\0'; break;
		case '\\': *o++ = '\\'; break;
		case 'x':
			if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
				break;
			}
			/* fall through */
		default: *o++ = '\\'; *o++ = *p;
		}
	}
	return (size_t)(o - s);
}

static int copy_out(const char *buf, ssize_t n)
{
	return fwrite(buf, 1, (size_t)n, stdout) == (size_t)n ? 0 : -1;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	int want = -1; /* expected errno of the next op, -1: must succeed */

	for (int i = 0; i < SLOTS; i++)
		fds[i] = -1;
	for (int i = 1; i < argc;) {
		const char *op = argv[i++];
		int rc = 0; /* 0 or an errno */
#define ARG() (i < argc ? argv[i++] : (usage("missing argument"), ""))
		if (strcmp(op, "expect") == 0) {
			want = errnum(ARG());
			continue;
		} else if (strcmp(op, "open") == 0) {
			int s = slot(ARG());
			const char *fl = ARG(), *path = ARG();
			int r = strchr(fl, 'r') != NULL, w = strchr(fl, 'w') != NULL;
			int flags = r && w ? O_RDWR : w ? O_WRONLY : O_RDONLY;
			if (strchr(fl, 'a'))
				flags |= O_APPEND;
			if (strchr(fl, 't'))
				flags |= O_TRUNC;
			if (strchr(fl, 'c'))
				flags |= O_CREAT;
			if (strchr(fl, 'x'))
				flags |= O_EXCL;
			int fd = open(path, flags | O_CLOEXEC, 0644);
			if (fd < 0)
				rc = errno;
			else
				fds[s] = fd;
		} else if (strcmp(op, "write") == 0) {
			int s = slot(ARG());
			char *text = strdup(ARG());
			size_t len = unescape(text);
			ssize_t n = write(fds[s], text, len);
			if (n < 0)
				rc = errno;
			else if ((size_t)n != len) {
				fprintf(stderr, "lfsio: short write: %zd of %zu\n", n, len);
				return 1;
			}
			free(text);
		} else if (strcmp(op, "writen") == 0) {
			int s = slot(ARG());
			size_t len = strtoull(ARG(), NULL, 10);
			int byte = atoi(ARG());
			char *buf = malloc(len ? len : 1);
			memset(buf, byte, len);
			ssize_t n = write(fds[s], buf, len);
			if (n < 0)
				rc = errno;
			else if ((size_t)n != len) {
				fprintf(stderr, "lfsio: short write: %zd of %zu\n", n, len);
				return 1;
			}
			free(buf);
		} else if (strcmp(op, "writefile") == 0) {
			int s = slot(ARG());
			const char *path = ARG();
			size_t bs = strtoull(ARG(), NULL, 10), len;
			char *buf = read_file(path, &len);
			if (!buf || bs == 0)
				usage("cannot read file, or BS 0");
			for (size_t off = 0; off < len && rc == 0; off += bs) {
				size_t k = len - off < bs ? len - off : bs;
				ssize_t n = write(fds[s], buf + off, k);
				if (n < 0)
					rc = errno;
				else if ((size_t)n != k) {
					fprintf(stderr, "lfsio: short write: %zd of %zu\n", n, k);
					return 1;
				}
			}
			free(buf);
		} else if (strcmp(op, "write1") == 0 || strcmp(op, "writeall") == 0) {
			int s = slot(ARG());
			const char *path = ARG();
			size_t skew = strtoull(ARG(), NULL, 10), len;
			char *data = read_file(path, &len);
			char *buf = data ? aligned_alloc(4096, (len + skew + 4095) / 4096 * 4096 + 4096) : NULL;
			if (!buf || skew >= 4096)
				usage("cannot read file, or SKEW not below 4096");
			memcpy(buf + skew, data, len);
			size_t off = 0;
			do {
				ssize_t n = write(fds[s], buf + skew + off, len - off);
				printf("%s%s", off ? " " : "", n < 0 ? errname(errno) : "");
				if (n < 0)
					break;
				printf("%zd", n);
				off += (size_t)n;
			} while (op[5] == 'a' && off < len);
			printf("\n");
			free(buf);
			free(data);
		} else if (strcmp(op, "writev") == 0) {
			int s = slot(ARG());
			size_t cnt = strtoull(ARG(), NULL, 10), len = strtoull(ARG(), NULL, 10);
			int byte = atoi(ARG());
			struct iovec *iov = calloc(cnt ? cnt : 1, sizeof(*iov));
			char *buf = malloc(cnt * len + 1);
			if (!iov || !buf)
				usage("out of memory");
			memset(buf, byte, cnt * len);
			for (size_t k = 0; k < cnt; k++)
				iov[k] = (struct iovec){buf + k * len, len};
			ssize_t n = writev(fds[s], iov, (int)cnt);
			if (n < 0)
				printf("%s\n", errname(errno));
			else
				printf("%zd\n", n);
			free(iov);
			free(buf);
		} else if (strcmp(op, "fsync") == 0) {
			if (fsync(fds[slot(ARG())]) < 0)
				rc = errno;
		} else if (strcmp(op, "fdatasync") == 0) {
			if (fdatasync(fds[slot(ARG())]) < 0)
				rc = errno;
		} else if (strcmp(op, "close") == 0) {
			int s = slot(ARG());
			if (close(fds[s]) < 0)
				rc = errno;
			fds[s] = -1;
		} else if (strcmp(op, "read") == 0 || strcmp(op, "pread") == 0) {
			int s = slot(ARG());
			off_t off = op[0] == 'p' ? (off_t)strtoll(ARG(), NULL, 10) : 0;
			size_t len = strtoull(ARG(), NULL, 10);
			char *buf = malloc(len ? len : 1);
			ssize_t n = op[0] == 'p' ? pread(fds[s], buf, len, off) : read(fds[s], buf, len);
			if (n < 0)
				rc = errno;
			else if (copy_out(buf, n) < 0)
				return 1;
			free(buf);
		} else if (strcmp(op, "readall") == 0) {
			int s = slot(ARG());
			char buf[65536];
			ssize_t n;
			while ((n = read(fds[s], buf, sizeof(buf))) > 0)
				if (copy_out(buf, n) < 0)
					return 1;
			if (n < 0)
				rc = errno;
		} else if (strcmp(op, "mmap") == 0) {
			int s = slot(ARG());
			struct stat st;
			void *p = NULL;
			if (fstat(fds[s], &st) < 0)
				rc = errno;
			else if (st.st_size > 0 &&
				 (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fds[s], 0)) ==
					 MAP_FAILED)
				rc = errno;
			else if (p) {
				if (copy_out(p, (ssize_t)st.st_size) < 0)
					return 1;
				munmap(p, (size_t)st.st_size);
			}
		} else if (strcmp(op, "reopen") == 0) {
			long n = atol(ARG());
			const char *path = ARG();
			for (long k = 0; k < n && rc == 0; k++) {
				char c;
				int fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0 || read(fd, &c, 1) < 0)
					rc = errno;
				if (fd >= 0 && close(fd) < 0 && rc == 0)
					rc = errno;
			}
		} else if (strcmp(op, "size") == 0) {
			int s = slot(ARG());
			off_t cur = lseek(fds[s], 0, SEEK_CUR), end = lseek(fds[s], 0, SEEK_END);
			if (cur < 0 || end < 0)
				rc = errno;
			else {
				printf("%lld\n", (long long)end);
				lseek(fds[s], cur, SEEK_SET);
			}
		} else if (strcmp(op, "fstat") == 0) {
			struct stat st;
			if (fstat(fds[slot(ARG())], &st) < 0)
				rc = errno;
			else
				printf("%lld\n", (long long)st.st_size);
		} else if (strcmp(op, "ftruncate") == 0) {
			int s = slot(ARG());
			if (ftruncate(fds[s], (off_t)strtoll(ARG(), NULL, 10)) < 0)
				rc = errno;
		} else if (strcmp(op, "truncate") == 0) {
			const char *path = ARG();
			if (truncate(path, (off_t)strtoll(ARG(), NULL, 10)) < 0)
				rc = errno;
		} else if (strcmp(op, "content") == 0) {
			const char *path = ARG();
			char *want_text = strdup(ARG());
			size_t wlen = unescape(want_text), len = 0;
			char *got = read_file(path, &len);
			if (!got) {
				rc = errno;
			} else if (len != wlen || memcmp(got, want_text, len) != 0) {
				fprintf(stderr, "lfsio: content of %s differs (%zu bytes, expected %zu)\n",
					path, len, wlen);
				return 1;
			}
			free(got);
			free(want_text);
		} else if (strcmp(op, "sh") == 0) {
			const char *cmd = ARG();
			fflush(stdout);
			int st = system(cmd);
			if (st != 0) {
				fprintf(stderr, "lfsio: sh '%s': exit status %d\n", cmd, st);
				return 1;
			}
		} else if (strcmp(op, "sleep") == 0) {
			long ms = atol(ARG());
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		} else {
			usage("unknown operation");
		}
		if (want < 0)
			want = 0;
		if (rc != want) {
			fprintf(stderr, "lfsio: %s: %s, expected %s\n", op, rc ? errname(rc) : "success",
				want ? errname(want) : "success");
			return 1;
		}
		want = -1;
		fflush(stdout);
	}
	return 0;
}
