//! The process's allocator: mimalloc, asked for plain memory whenever plain
//! memory is aligned enough.
//!
//! `mimalloc::MiMalloc` passes every request to `mi_malloc_aligned`, whose
//! fast path only takes blocks of 1 KiB or less that happen to sit aligned;
//! the rest (a proxied request's boxed futures and buffers among them) go
//! through an over-allocating path that also slows their `free`. Under
//! callgrind that was some 1,600 instructions of a static request's 25,500.
//! `mi_malloc` returns blocks aligned to 16 bytes (to their size below
//! that), which is what nearly every Rust layout asks for.
//!
//! This module holds the crate's second `unsafe` code (the first is
//! `proxy/tcpinfo.rs`): a `GlobalAlloc` cannot be written without it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment `mi_malloc` guarantees for blocks of at least this size.
const PLAIN_ALIGN: usize = 16;

/// mimalloc, plain where a layout allows it (see the module's comment).
pub struct Allocator;

/// A plain block is aligned enough: mimalloc rounds sizes up to whole
/// 16-byte units from 16 bytes on, and below that to a power of two no
/// smaller than the alignment a layout of that size can ask for.
fn plain(layout: Layout) -> bool {
    layout.align() <= PLAIN_ALIGN && layout.align() <= layout.size()
}

/// A new block for `layout`: from `plain_fn`, or from `aligned_fn` where
/// plain memory may not be aligned enough.
#[inline]
fn block(
    layout: Layout,
    plain_fn: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned_fn: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: plain functions of the C allocator, given a size and an
    // alignment; a null result is the out-of-memory answer GlobalAlloc expects.
    unsafe {
        if plain(layout) {
            plain_fn(layout.size()).cast()
        } else {
            aligned_fn(layout.size(), layout.align()).cast()
        }
    }
}

// SAFETY: every call hands mimalloc a layout's size and, where plain
// memory may not do, its alignment; blocks come back aligned as the layout
// asks (see `plain`), and `mi_free`/`mi_realloc*` take any block either
// function returned.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        block(layout, mi_malloc, mi_malloc_aligned)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        block(layout, mi_zalloc, mi_zalloc_aligned)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned.
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a block this allocator returned with
        // `layout`; the new block keeps its alignment as `alloc` would.
        unsafe {
            let ptr = ptr.cast::<c_void>();
            if plain(Layout::from_size_align_unchecked(new_size, layout.align())) {
                mi_realloc(ptr, new_size).cast()
            } else {
                mi_realloc_aligned(ptr, new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to 4 KiB and past it, at every alignment up to a page:
    /// each block is aligned as asked, holds its bytes, and keeps them
    /// through a realloc.
    #[test]
    fn blocks_are_aligned_as_their_layout_asks() {
        let a = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=4200).step_by(7).chain([8, 16, 24, 40, 1024, 1025, 2520, 3968]) {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; the block is freed below with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xA5, size);
                    let q = a.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc to {} align {align}", size * 3);
                    assert!(std::slice::from_raw_parts(q, size).iter().all(|&b| b == 0xA5));
                    a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
