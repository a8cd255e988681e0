/* The debug owner token of core/lock.h. */
#include "lock.h"

_Thread_local char lfs_self_token;
