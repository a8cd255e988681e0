# logfs: one non-recursive Makefile.
#   make            build build/logfs, build/mkfs.logfs, build/fsck.logfs
#   make check      install what is missing, build, run every test suite
#   make run        install what is missing, build, format ./volume, mount on ./mnt
#   make asan       the same checks built with AddressSanitizer + UBSan
#   make tsan       the core's concurrency tests under ThreadSanitizer
#   make bench      benchmarks (bench/), make bench-quick for a short run
#   make stress     long reliability runs (STRESS_ROUNDS, STRESS_SECONDS)
#   make fuzz       libFuzzer on the recovery scanner, the summary parser,
#                   the cursor store, a volume's load and first reads, fsck's
#                   walk and the producer's framing (FUZZ_SECONDS each)
#   make install    PREFIX=/usr/local DESTDIR=
#   make uninstall  the same PREFIX and DESTDIR: removes what install put

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
OPT ?= -O2 -g
SAN ?=

PKG_CFLAGS := $(shell pkg-config --cflags fuse3 liburing cmocka 2>/dev/null)
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null)
URING_LIBS := $(shell pkg-config --libs liburing 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# libnats: only the daemon (mirror/) and the test tool that reads streams.
NATS_CFLAGS := $(shell pkg-config --cflags libnats 2>/dev/null)
NATS_LIBS := $(shell pkg-config --libs libnats 2>/dev/null)

CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
	$(OPT) $(SAN) -Icore -Imirror $(PKG_CFLAGS) $(NATS_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SAN) $(EXTRA_LDFLAGS)

CORE_SRC := $(sort $(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
FUSE_SRC := $(sort $(wildcard fuse/*.c))
FUSE_OBJ := $(FUSE_SRC:%.c=$(BUILD)/obj/%.o)
MIRROR_SRC := $(sort $(wildcard mirror/*.c))
MIRROR_OBJ := $(MIRROR_SRC:%.c=$(BUILD)/obj/%.o)
MKFS_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard mkfs/*.c)))
FSCK_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard fsck/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

PROGS := $(BUILD)/logfs $(BUILD)/mkfs.logfs $(BUILD)/fsck.logfs

.PHONY: all deps check unit integration run install uninstall clean asan tsan bench bench-quick stress fuzz format
all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcore.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/logfs: $(FUSE_OBJ) $(MIRROR_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(URING_LIBS) $(NATS_LIBS)
$(BUILD)/mkfs.logfs: $(MKFS_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(URING_LIBS)
$(BUILD)/fsck.logfs: $(FSCK_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(URING_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcore.a tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libcore.a $(CMOCKA_LIBS) $(URING_LIBS) $(LDFLAGS) \
		$(TEST_WRAP)
# test_topics injects failures into the core's directory operations.
$(BUILD)/tests/test_topics: TEST_WRAP := -Wl,--wrap=renameat,--wrap=mkdirat
# test_peek_race runs another thread's check of a segment inside a read's
# read-ahead advice.
$(BUILD)/tests/test_peek_race: TEST_WRAP := -Wl,--wrap=madvise
$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcore.a $(URING_LIBS) $(LDFLAGS)
# The fuzz replay tools include the fuzz targets' sources.
$(filter $(BUILD)/tests/tools/fuzz_replay%,$(TOOL_BIN)): $(wildcard tests/fuzz/*.c tests/fuzz/*.h)
# Reads a JetStream stream back for the mirror tests: libnats, no core.
$(BUILD)/tests/tools/nats_tool: tests/tools/nats_tool.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(NATS_LIBS) $(LDFLAGS)
# The mirror's client-side reference publisher: libnats, no core.
$(BUILD)/bench/mirror_pub: bench/mirror_pub.c bench/benchutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(NATS_LIBS) $(LDFLAGS)
$(BUILD)/bench/%: bench/%.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcore.a $(URING_LIBS) $(LDFLAGS)

deps:
	@sh tools/install-deps.sh

# The dependency step must run before anything is compiled: pkg-config flags
# above are read when make starts, so check re-invokes make after it.
check: deps
	@$(MAKE) --no-print-directory all-tests
	@sh tests/run.sh $(BUILD)

all-tests: $(PROGS) $(UNIT_BIN) $(TOOL_BIN)

unit: $(UNIT_BIN)
	@sh tests/run.sh $(BUILD) unit

integration: $(PROGS) $(TOOL_BIN)
	@sh tests/run.sh $(BUILD) integration

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run.sh build-asan

tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
		build-tsan/tests/test_concurrency
	@TSAN_OPTIONS=halt_on_error=1 sh tests/run.sh build-tsan unit test_concurrency

bench: deps
	@sh tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN) $(BUILD)/tests/tools/nats_tool
	@sh bench/run.sh $(BUILD) full

bench-quick: deps
	@sh tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN) $(BUILD)/tests/tools/nats_tool
	@sh bench/run.sh $(BUILD) quick

# docs/RELIABILITY.md: the long forms of the reliability suites.
stress: deps
	@$(MAKE) --no-print-directory all-tests
	@sh tests/reliability/stress.sh $(BUILD)

FUZZ_SECONDS ?= 180
fuzz: deps
	@sh tools/install-deps.sh --fuzz
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 docs/logfs.8 docs/mkfs.logfs.8 docs/fsck.logfs.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	@# No mount.fuse.logfs glue is needed: mount -t fuse.logfs runs
	@# /sbin/mount.fuse3, which runs `sh -c 'logfs VOLUME MOUNTPOINT -o OPTS'`
	@# with mount(8)'s cleared environment: sh's default search path, which
	@# holds /usr/local/sbin and /usr/sbin (PREFIX must be one of those).

# Removes exactly what install put there (same PREFIX and DESTDIR); the
# directories stay, as they may hold other programs' files.
uninstall:
	rm -f $(PROGS:$(BUILD)/%=$(DESTDIR)$(PREFIX)/sbin/%)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man8/,logfs.8 mkfs.logfs.8 fsck.logfs.8)

format:
	clang-format -i core/*.[ch] fuse/*.[ch] mirror/*.[ch] mkfs/*.c fsck/*.c tests/unit/*.[ch] tests/tools/*.c bench/*.c

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
