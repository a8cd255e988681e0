/*
 * fuzz_replay_volume: the fuzz target tests/fuzz/fuzz_volume.c with a plain
 * main() (tests/fuzz/replay.c): `make check` replays its seed corpus and
 * kept crash inputs through tests/integration/fuzz_replay.sh.
 */
#include "../fuzz/fuzz_volume.c"
#include "../fuzz/replay.c"
