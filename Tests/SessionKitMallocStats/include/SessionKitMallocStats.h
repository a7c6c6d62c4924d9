#ifndef SESSIONKIT_MALLOC_STATS_H
#define SESSIONKIT_MALLOC_STATS_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not yet taken back (glibc's mallinfo2: `uordblks`
/// plus `hblkhd`), across all arenas; 0 where that is not available. Unlike resident memory it
/// does not count freed memory the allocator keeps for reuse, so it tells a leak from a
/// high-water mark.
size_t sessionkit_heap_in_use(void);

#endif
