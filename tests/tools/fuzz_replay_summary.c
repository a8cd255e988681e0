/*
 * fuzz_replay_summary: the summary parser's fuzz target
 * (tests/fuzz/fuzz_summary.c) with a plain main() (tests/fuzz/replay.c),
 * as fuzz_replay is for fuzz_scan: `make check` replays its seed corpus and
 * kept crash inputs through tests/integration/fuzz_replay.sh.
 */
#include "../fuzz/fuzz_summary.c"
#include "../fuzz/replay.c"
