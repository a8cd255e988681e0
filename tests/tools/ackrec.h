/*
 * Self-describing records for the reliability suites (ackwriter, ackcheck,
 * docs/RELIABILITY.md). A record is
 *
 *   "LR1 WWWW SSSSSSSSSSSS LLLLLL CCCCCCCC|" payload "\n"
 *
 * 38 header bytes: writer id (4 hex), sequence number (12 hex), the whole
 * record's length including header and '\n' (6 hex), and the CRC32C of the
 * payload (8 hex). The payload is a pattern generated from (writer, seq,
 * length), so a reader can regenerate it and compare every byte, not only
 * the checksum. For line framing the payload is printable (no '\n'); for
 * write framing it is arbitrary binary (any byte, '\n' and NUL included),
 * and the header's length lets a reader split the byte stream.
 */
#ifndef ACKREC_H
#define ACKREC_H

#include "logfs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define REC_HDR_LEN 38
#define REC_MIN_LEN (REC_HDR_LEN + 1)
#define REC_MAX_LEN 0xffffff

static inline uint64_t rec_rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t rec_seed(unsigned wid, uint64_t seq, uint32_t len)
{
	uint64_t s = ((uint64_t)wid << 48) ^ (seq * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)len << 8) ^
		     0x5DEECE66Dull;
	return s ? s : 1;
}

static const char rec_alphabet[65] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

/* Fills the payload for (wid, seq, len): len - REC_MIN_LEN bytes. */
static inline void rec_payload(unsigned char *p, unsigned wid, uint64_t seq, uint32_t len,
			       bool binary)
{
	uint64_t s = rec_seed(wid, seq, len);
	size_t n = len - REC_MIN_LEN;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = rec_rng_next(&s);
		for (size_t k = 0; k < 8 && i + k < n; k++) {
			unsigned char b = (unsigned char)(r >> (8 * k));
			p[i + k] = binary ? b : (unsigned char)rec_alphabet[b & 63];
		}
	}
}

/* Writes a whole record of len bytes (len >= REC_MIN_LEN) into out. */
static inline void rec_build(unsigned char *out, unsigned wid, uint64_t seq, uint32_t len,
			     bool binary)
{
	char hdr[REC_HDR_LEN + 1];
	rec_payload(out + REC_HDR_LEN, wid, seq, len, binary);
	uint32_t crc = lfs_crc32c(0, out + REC_HDR_LEN, len - REC_MIN_LEN);
	snprintf(hdr, sizeof(hdr), "LR1 %04x %012llx %06x %08x|", wid & 0xffff,
		 (unsigned long long)seq & 0xffffffffffffull, len, crc);
	memcpy(out, hdr, REC_HDR_LEN);
	out[len - 1] = '\n';
}

struct rec_hdr {
	unsigned wid;
	uint64_t seq;
	uint32_t len;
	uint32_t crc;
};

static inline bool rec_hex(const unsigned char *p, int n, uint64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++) {
		unsigned char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* Parses a header (avail bytes at p): false if it is not one. */
static inline bool rec_parse_hdr(const unsigned char *p, size_t avail, struct rec_hdr *h)
{
	uint64_t w, s, l, c;
	if (avail < REC_HDR_LEN || memcmp(p, "LR1 ", 4) || p[8] != ' ' || p[21] != ' ' ||
	    p[28] != ' ' || p[37] != '|')
		return false;
	if (!rec_hex(p + 4, 4, &w) || !rec_hex(p + 9, 12, &s) || !rec_hex(p + 22, 6, &l) ||
	    !rec_hex(p + 29, 8, &c) || l < REC_MIN_LEN)
		return false;
	h->wid = (unsigned)w;
	h->seq = s;
	h->len = (uint32_t)l;
	h->crc = (uint32_t)c;
	return true;
}

/* Verifies a whole record (len bytes at p, as its header says): its CRC,
 * its final '\n' and every payload byte against the pattern. scratch holds
 * at least len bytes. */
static inline bool rec_verify(const unsigned char *p, const struct rec_hdr *h, bool binary,
			      unsigned char *scratch)
{
	if (p[h->len - 1] != '\n')
		return false;
	if (lfs_crc32c(0, p + REC_HDR_LEN, h->len - REC_MIN_LEN) != h->crc)
		return false;
	rec_payload(scratch, h->wid, h->seq, h->len, binary);
	return memcmp(scratch, p + REC_HDR_LEN, h->len - REC_MIN_LEN) == 0;
}

#endif
