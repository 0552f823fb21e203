//! Futures boxed where they are built. `Box::pin(fut)` builds the future
//! on the stack and copies all of it into the heap, the size of its largest
//! state (3 KB for a proxied request) though a future not yet started holds
//! only its arguments; allocating first lets the compiler build it in place.

use std::future::Future;
use std::pin::Pin;

/// The future `make` returns, built in a new box.
#[inline(always)]
pub(crate) fn boxed<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    let slot = Box::<F>::new_uninit();
    Box::into_pin(Box::write(slot, make()))
}
