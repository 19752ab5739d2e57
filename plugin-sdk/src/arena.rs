//! A bump allocator over a static arena, for plugins (the `arena` feature).
//!
//! The gateway runs every call in a fresh instance, so memory a call frees never has to be
//! handed out again: allocating is moving a pointer, and the arena is part of the module's
//! initial memory (zeroed `.bss`), so a call that stays inside it never grows memory (each
//! growth costs the host an `mprotect`, undone when the instance ends). The allocation made
//! last is given back when freed or grown in place, which covers the strings and vectors that
//! are built by pushing; anything else freed stays spent until the instance ends. Past the
//! arena, allocations go to the system allocator, which frees as usual, so a call that needs
//! more works as before, and a host that kept an instance for many calls would lose at most the
//! arena, never correctness.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The arena's size: what a built-in's call on a large webhook allocates, with room.
pub const ARENA_BYTES: usize = 256 * 1024;

#[repr(C, align(16))]
struct Bytes(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: the arena is only reached through `Arena`, whose bookkeeping is one atomic offset;
// a component instance is single-threaded.
unsafe impl Sync for Bytes {}

static ARENA: Bytes = Bytes(UnsafeCell::new([0; ARENA_BYTES]));
/// Offset of the first free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The allocator; `#[global_allocator]` of a plugin built with the `arena` feature for wasm32.
pub struct Arena;

impl Arena {
    fn base() -> usize {
        ARENA.0.get() as usize
    }

    /// The offset of `ptr` in the arena, if it is in it.
    fn offset_of(ptr: *mut u8) -> Option<usize> {
        (ptr as usize)
            .checked_sub(Self::base())
            .filter(|offset| *offset < ARENA_BYTES)
    }
}

// SAFETY: every block handed out lies inside the arena (aligned as asked, never overlapping a
// live block: the offset only moves back over the block freed last) or comes from `System`
// and goes back to it.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = Self::base();
        let next = NEXT.load(Ordering::Relaxed);
        let start = (base + next).next_multiple_of(layout.align()) - base;
        match start.checked_add(layout.size()) {
            Some(end) if end <= ARENA_BYTES => {
                NEXT.store(end, Ordering::Relaxed);
                (base + start) as *mut u8
            }
            // SAFETY: the caller's layout, as `GlobalAlloc::alloc` takes it.
            _ => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match Self::offset_of(ptr) {
            Some(offset) => {
                if offset + layout.size() == NEXT.load(Ordering::Relaxed) {
                    NEXT.store(offset, Ordering::Relaxed);
                }
            }
            // SAFETY: not in the arena, so `System` allocated it with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(offset) = Self::offset_of(ptr)
            && offset + layout.size() == NEXT.load(Ordering::Relaxed)
            && offset + new_size <= ARENA_BYTES
        {
            // The last block grows (or shrinks) where it is.
            NEXT.store(offset + new_size, Ordering::Relaxed);
            return ptr;
        }
        // SAFETY: `new_size` with the block's alignment is a valid layout (the caller's
        // promise to `realloc`); the old block is live for `layout.size()` bytes.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            moved
        }
    }
}

#[cfg(all(feature = "arena", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: Arena = Arena;

#[cfg(test)]
mod tests {
    use super::*;

    /// The arena is one static, so the checks run in one test, in order.
    #[test]
    fn blocks_are_aligned_apart_given_back_last_first_and_spill_to_the_system() {
        let arena = Arena;
        let start = NEXT.load(Ordering::Relaxed);
        unsafe {
            let small = Layout::from_size_align(3, 1).unwrap();
            let wide = Layout::from_size_align(8, 8).unwrap();
            let a = arena.alloc(small);
            let b = arena.alloc(wide);
            assert_eq!(Arena::offset_of(a), Some(start));
            assert_eq!(b as usize % 8, 0);
            assert!(b as usize >= a as usize + 3);
            b.write_bytes(0xAB, 8);
            a.write_bytes(0xCD, 3);
            assert_eq!(*b, 0xAB);

            // The last block grows in place and keeps its bytes; a block that is not last
            // moves, with its bytes.
            let grown = arena.realloc(b, wide, 64);
            assert_eq!(grown, b);
            assert_eq!(*grown.add(7), 0xAB);
            let moved = arena.realloc(a, small, 16);
            assert_ne!(moved, a);
            assert_eq!(*moved.add(2), 0xCD);

            // Freeing the last block gives its bytes back; freeing another leaves the offset.
            let before = NEXT.load(Ordering::Relaxed);
            arena.dealloc(moved, Layout::from_size_align(16, 1).unwrap());
            assert!(NEXT.load(Ordering::Relaxed) < before);
            let after_free = NEXT.load(Ordering::Relaxed);
            arena.dealloc(a, small);
            assert_eq!(NEXT.load(Ordering::Relaxed), after_free);

            // Past the arena: the system's block, freed to the system.
            let huge = Layout::from_size_align(ARENA_BYTES + 1, 16).unwrap();
            let spilled = arena.alloc(huge);
            assert!(!spilled.is_null());
            assert_eq!(Arena::offset_of(spilled), None);
            spilled.write_bytes(1, ARENA_BYTES + 1);
            arena.dealloc(spilled, huge);
        }
    }
}
