/*
 * fuzz_replay_fsck: the fuzz target tests/fuzz/fuzz_fsck.c with a plain
 * main() (tests/fuzz/replay.c): `make check` replays its seed corpus and
 * kept crash inputs through tests/integration/fuzz_replay.sh.
 */
#include "../fuzz/fuzz_fsck.c"
#include "../fuzz/replay.c"
