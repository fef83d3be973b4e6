//! Giving freed heap memory back to the operating system.
//!
//! glibc's malloc keeps what a program frees in per-thread arenas, ready for
//! the next allocation, and returns it to the system only when it sits at the
//! very top of the main heap. A catch-up allocates and frees a page of
//! documents, their parse trees and stanzas at a time, on whichever runtime
//! threads run it, so the freed space ends up scattered over several arenas:
//! a bridge catching up 100 topics held about 30 % of its anonymous memory
//! as free space malloc kept (measured with `malloc_trim` called from gdb;
//! BENCHMARKS.md, section 7). [`release_free_memory`] hands the whole free
//! pages of every arena back; the follower calls it between catch-up pages,
//! when a page's buffers are gone.
//!
//! Elsewhere than glibc (musl, macOS, a program with its own global
//! allocator) it does nothing: those allocators return memory on their own
//! terms, and glibc's trim would not see theirs.

/// Returns the free pages of glibc's malloc arenas to the system. Costs a
/// walk over malloc's free lists (well under a millisecond for tens of
/// MiB); safe to call at any time, from any thread.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a plain integer, has no preconditions and
    // only rearranges malloc's own free memory (it takes the arenas' locks).
    unsafe {
        libc::malloc_trim(0);
    }
}
