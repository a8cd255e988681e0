/*
 * fuzz_replay_cursors: the cursor store's fuzz target
 * (tests/fuzz/fuzz_cursors.c) with a plain main() (tests/fuzz/replay.c):
 * `make check` replays its seed corpus and kept crash inputs through
 * tests/integration/fuzz_replay.sh.
 */
#include "../fuzz/fuzz_cursors.c"
#include "../fuzz/replay.c"
