/*
 * fuzz_replay: the fuzz target (tests/fuzz/fuzz_scan.c) with a plain main()
 * (tests/fuzz/replay.c) instead of libFuzzer, built by `make all-tests` like
 * every tool here, so `make check` (tests/integration/fuzz_replay.sh)
 * replays the seed corpus and the kept crash inputs without clang, and
 * `make asan` under the sanitizers.
 */
#include "../fuzz/fuzz_scan.c"
#include "../fuzz/replay.c"
