// The proxy allocates per request; mimalloc keeps that cheap under load.
#[global_allocator]
static GLOBAL: rcompose::alloc::Allocator = rcompose::alloc::Allocator;

fn main() {
    std::process::exit(rcompose::run());
}
